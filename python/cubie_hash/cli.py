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
import json
import sys
from collections.abc import Sequence

from cubie_hash._core import ALGORITHMS, digest
from cubie_hash.errors import CubieHashError


def _cmd_digest(args: argparse.Namespace) -> int:
    texts: list[str] = args.text or ["-"]
    for text in texts:
        if text == "-":
            # Bytes as they are: a file piped in hashes like `md5sum` would hash it.
            print(f"{digest(sys.stdin.buffer.read(), args.algorithm, args.length)}  -")
        else:
            print(f"{digest(text, args.algorithm, args.length)}  {text}")
    return 0


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
    prune = actions.add_parser("prune", help="remove entries unused for DAYS days")
    prune.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    actions.add_parser("clear", help="remove every entry")
    p.set_defaults(func=_cmd_cache)

    p = sub.add_parser(
        "demo",
        help="the main job on the bundled example systems, cold then warm",
        description="Parse, hash, generate, compile and integrate the bundled example ODE "
        "systems on the CPU, then repeat in a second process that hits the cache.",
    )
    p.add_argument("--systems", type=int, default=2000, help="independent systems per batch")
    p.add_argument("--steps", type=int, default=1000, help="RK4 steps")
    p.add_argument("--cache", default=None, help="cache root (default: a fresh temporary one)")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except CubieHashError as err:
        print(f"cubie-hash {args.command}: error: {err}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
