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
