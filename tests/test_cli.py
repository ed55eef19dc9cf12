"""The cubie-hash command line, run as a real subprocess."""

from __future__ import annotations

import hashlib
import subprocess
import sys


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cubie_hash.cli", *args], input=stdin, capture_output=True
    )


def test_digest_texts() -> None:
    out = run("digest", "--length", "8", "tsteps=20+dt=2_42_imagenette", "hello")
    assert out.returncode == 0
    assert out.stdout.decode().splitlines() == [
        "3fce9ecb  tsteps=20+dt=2_42_imagenette",
        "5d41402a  hello",
    ]


def test_digest_stdin_bytes() -> None:
    payload = b"line one\nline two\n\xff\x00"
    out = run("digest", "-a", "sha256", stdin=payload)
    assert out.stdout.decode() == f"{hashlib.sha256(payload).hexdigest()}  -\n"
    assert (
        run("digest", "-", stdin=payload)
        .stdout.decode()
        .startswith(hashlib.md5(payload).hexdigest())
    )


def test_bad_length_is_a_clean_error() -> None:
    out = run("digest", "--length", "40", "x")
    assert out.returncode == 2
    assert b"Traceback" not in out.stderr
    assert b"from 1 to 32" in out.stderr


def test_unknown_algorithm_is_refused_by_the_parser() -> None:
    out = run("digest", "-a", "crc32", "x")
    assert out.returncode == 2 and b"invalid choice" in out.stderr
