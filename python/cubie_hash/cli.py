"""The ``cubie-hash`` command line.

Each sub-command lives in a function ``_cmd_<name>`` and is registered in :func:`build_parser`;
errors the library raises (:class:`CubieHashError`) end the program with status 2 and a
one-line message, never a traceback.

Example:
    $ cubie-hash digest --length 8 "tsteps=20+dt=2_42_imagenette"
    3fce9ecb  tsteps=20+dt=2_42_imagenette
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence

from cubie_hash._core import ALGORITHMS, compute_hash, digest
from cubie_hash.errors import CubieHashError
from cubie_hash.snakemake.identifiers import ModelIdentifier
from cubie_hash.snakemake.links import link_hashed, resolve, scan_links
from cubie_hash.snakemake.paths import check_paths


def _cmd_digest(args: argparse.Namespace) -> int:
    texts: list[str] = args.text or ["-"]
    for text in texts:
        if text == "-":
            # Bytes as they are: a file piped in hashes like `md5sum` would hash it.
            print(f"{digest(sys.stdin.buffer.read(), args.algorithm, args.length)}  -")
        else:
            # A non-UTF-8 argument reaches Python with its bytes kept as lone surrogates
            # (surrogateescape): hash those bytes, as `printf %s ARG | md5sum` would.
            data = text.encode("utf-8", "surrogateescape")
            print(f"{digest(data, args.algorithm, args.length)}  {text}")
    return 0


def _cmd_id(args: argparse.Namespace) -> int:
    opts = {"length": args.length, "algorithm": args.algorithm, "canonical": args.canonical}
    if args.full:
        for text in args.args:
            print(ModelIdentifier.parse(text).hashed_name(**opts))
    else:
        print(compute_hash(*args.args, **opts))
    return 0


def _cmd_link(args: argparse.Namespace) -> int:
    for folder in args.full_dir:
        link = link_hashed(folder, length=args.length, canonical=args.canonical)
        print(f"{link} -> {os.readlink(link) if link.is_symlink() else folder}")
    return 0


def _cmd_resolve(args: argparse.Namespace) -> int:
    found = [resolve(t, args.root) for t in args.target] if args.target else scan_links(args.root)
    for r in found:
        print(f"{r.link}\t{r.full}")
    return 0


def _cmd_check_paths(args: argparse.Namespace) -> int:
    problems = [p for d in args.dir for p in check_paths(d)]
    for problem in problems:
        print(problem)
    if problems:
        unread = sum(p.kind == "unreadable" for p in problems)
        over = len(problems) - unread
        print(f"{over} path(s) over the limit, {unread} folder(s) not read", file=sys.stderr)
    return 1 if problems else 0


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a count of systems or steps)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive count (at least 1)")
    return value


def _cmd_check_workflow(args: argparse.Namespace) -> int:
    from cubie_hash.snakemake.workflow_check import check_workflow, parse_config

    # Paths on the command line are relative to where it was typed, as for snakemake.
    report = check_workflow(
        args.directory,
        snakefile=None if args.snakefile is None else os.path.abspath(args.snakefile),
        configfiles=[os.path.abspath(f) for f in args.configfile],
        config=parse_config(args.config) if args.config else None,
        targets=args.targets,
        forceall=args.forceall,
        logdir=args.slurm_logdir,
    )
    for problem in report.problems:
        print(problem)
    if report.pending_checkpoints:
        print(
            f"{len(report.pending_checkpoints)} checkpoint job(s) not run yet "
            f"({', '.join(sorted(set(report.pending_checkpoints)))}): the jobs after them are "
            "not yet known; check again once they ran",
            file=sys.stderr,
        )
    print(
        f"{report.jobs} job(s) checked, {len(report.problems)} problem(s)",
        file=sys.stderr,
    )
    return 0 if report.ok else 1


def _add_hash_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--length", "-n", type=int, default=8, help="hex characters (default 8)")
    p.add_argument(
        "--canonical", action="store_true", help="sort the keys of key=value lists first"
    )


def _cmd_cache(args: argparse.Namespace) -> int:
    from cubie_hash.codegen import CodegenCache

    cache = CodegenCache(args.root)
    if args.action == "ls":
        entries = cache.entries()
        for e in entries:
            print(f"{e.fn_hash[:16]}  {e.variant:<14} {e.created}  {e.size_bytes:>9} B")
        print(f"{len(entries)} compiled variant(s) under {cache.root}", file=sys.stderr)
    elif args.action == "info":
        for e in cache.info(args.hash):
            meta = dict(e.metadata)
            canonical = meta.pop("canonical", "")
            print(json.dumps({**meta, "path": str(e.path), "size_bytes": e.size_bytes}, indent=1))
            print(canonical)
    elif args.action == "prune":
        removed = cache.prune(args.older_than)
        for name in removed:
            print(name)
        print(f"removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}", file=sys.stderr)
    else:
        print(f"removed {cache.clear()} entries from {cache.root}", file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from cubie_hash.demo import run_demo

    return run_demo(args.systems, args.steps, args.cache)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="cubie-hash",
        description="Short, deterministic identifiers and cache keys.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "digest",
        help="hex digest of texts (UTF-8) or of standard input",
        description="Print '<hex>  <text>' for each TEXT; '-' (or no TEXT) hashes standard input.",
    )
    p.add_argument("--algorithm", "-a", default="md5", choices=ALGORITHMS)
    p.add_argument("--length", "-n", type=int, default=None, help="hex characters to keep")
    p.add_argument("text", nargs="*", metavar="TEXT")
    p.set_defaults(func=_cmd_digest)

    p = sub.add_parser(
        "id",
        help="the short model identifier :hash=<hex> of ARGS (like compute_hash)",
        description="Print compute_hash(*ARGS), e.g. `cubie-hash id :tsteps=20+dt=2 42 "
        "imagenette`; with --full, each ARG is a full identifier and NAME:hash=<hex> is printed.",
    )
    p.add_argument("args", nargs="*", metavar="ARG")
    p.add_argument("--full", action="store_true", help="each ARG is NAME:ARGS_SEED_DATA")
    p.add_argument("--algorithm", "-a", default="md5", choices=ALGORITHMS)
    _add_hash_options(p)
    p.set_defaults(func=_cmd_id)

    p = sub.add_parser(
        "link",
        help="link NAME:hash=<hex> to a model folder NAME:ARGS_SEED_DATA",
        description="Make the relative link NAME:hash=<hex> beside each FULL_DIR and write "
        "<hex>.hash into it; a hash already used by another model is an error.",
    )
    p.add_argument("full_dir", nargs="+", metavar="FULL_DIR")
    _add_hash_options(p)
    p.set_defaults(func=_cmd_link)

    p = sub.add_parser(
        "resolve",
        help="the full identifier behind a hashed path or hash",
        description="Print '<link>\\t<full identifier>' for each TARGET (a hashed path, or a "
        "hash searched for under --root); without TARGET, every hashed link under --root.",
    )
    p.add_argument("target", nargs="*", metavar="PATH|HASH")
    p.add_argument("--root", default=".", help="folder to search (default: .)")
    p.set_defaults(func=_cmd_resolve)

    p = sub.add_parser(
        "check-paths",
        help="list path components over 255 bytes and paths over 4096 bytes",
        description="List every path under DIR that is too long; exit status 1 if any.",
    )
    p.add_argument("dir", nargs="+", metavar="DIR")
    p.set_defaults(func=_cmd_check_paths)

    p = sub.add_parser(
        "check-workflow",
        help="dry-run a Snakemake workflow and list jobs with paths over the limits",
        description="Build the DAG of the workflow in --directory (a dry run through "
        "Snakemake's API) and list every job with an output, log or benchmark path component "
        "over 255 bytes or path over 4096 bytes, and every job whose cluster executor log "
        "folder (.snakemake/slurm_logs/rule_<rule>/<wildcard values joined by '_'>) is over "
        "255 bytes, with the wildcard to hash. Exit status 1 if any, 2 if the workflow is "
        "broken.",
    )
    p.add_argument("targets", nargs="*", metavar="TARGET", help="rules or files, as snakemake")
    p.add_argument("--snakefile", "-s", default=None, help="default: Snakemake's search")
    p.add_argument("--directory", "-d", default=".", help="workflow directory (default: .)")
    p.add_argument("--configfile", "--configfiles", nargs="+", default=[], metavar="FILE")
    p.add_argument("--config", "-C", nargs="+", default=[], metavar="KEY=VALUE")
    p.add_argument("--forceall", "-F", action="store_true", help="check jobs already done too")
    p.add_argument("--slurm-logdir", default=None, help="as given to snakemake, if at all")
    p.set_defaults(func=_cmd_check_workflow)

    p = sub.add_parser(
        "cache",
        help="inspect or clean the code-generation cache",
        description="ls: list compiled systems; info HASH: metadata and canonical form; "
        "prune --older-than DAYS: drop entries unused that long; clear: drop everything.",
    )
    p.add_argument(
        "--root",
        default=None,
        help="cache root (default: $CUBIE_HASH_CACHE_DIR or the user cache directory)",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("ls", help="list compiled systems")
    info = actions.add_parser("info", help="metadata of the entries matching a hash prefix")
    info.add_argument("hash")
    prune = actions.add_parser("prune", help="remove entries unused for DAYS days (>= 0)")
    prune.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    actions.add_parser("clear", help="remove every entry")
    p.set_defaults(func=_cmd_cache)

    p = sub.add_parser(
        "demo",
        help="the main job on the bundled example systems, cold then warm",
        description="Parse, hash, generate, compile and integrate the bundled example ODE "
        "systems on the CPU, then repeat in a second process that hits the cache.",
    )
    p.add_argument(
        "--systems", type=_positive_int, default=2000, help="independent systems per batch"
    )
    p.add_argument("--steps", type=_positive_int, default=1000, help="RK4 steps")
    p.add_argument("--cache", default=None, help="cache root (default: a fresh temporary one)")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    # Arguments and paths that are not UTF-8 carry lone surrogates (surrogateescape); write
    # them back as the bytes they came from instead of failing with a traceback mid-output.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="surrogateescape")
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except CubieHashError as err:
        print(f"cubie-hash {args.command}: error: {err}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
