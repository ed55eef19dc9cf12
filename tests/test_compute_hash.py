"""compute_hash / compute_hashes: byte-compatible with the DynVision seed, idempotent, strict."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cubie_hash import DigestLengthError, IdentifierError, InputTypeError
from cubie_hash.snakemake import compute_hash, compute_hashes
from hypothesis import given
from hypothesis import strategies as st

GOLDEN = json.loads((Path(__file__).parent / "golden" / "compute_hash.json").read_text("utf-8"))


def seed_compute_hash(*args: object, length: int = 8) -> str:
    """The seed's reference implementation, verbatim."""
    for arg in args:
        if "hash=" in str(arg):
            return str(arg)
    combined = "_".join(str(arg).lstrip(":") for arg in args)
    hash_val = hashlib.md5(combined.encode()).hexdigest()[:length]
    return f":hash={hash_val}"


@pytest.mark.parametrize("vector", GOLDEN["vectors"], ids=lambda v: "_".join(v["args"])[:30])
def test_golden_vectors(vector: dict[str, Any]) -> None:
    options = {k: vector[k] for k in ("length", "algorithm", "canonical") if k in vector}
    assert compute_hash(*vector["args"], **options) == vector["expected"]
    assert compute_hashes([vector["args"]], **options) == [vector["expected"]]


def test_reference_values_from_the_issue() -> None:
    assert compute_hash(":tsteps=20+dt=2", "42", "imagenette") == ":hash=3fce9ecb"
    long_args = (
        ":tsteps=20+dt=2+tau=5+tff=0+trc=6+tsk=0+lossrt=4+energyloss=0.1+pattern=1"
        "+rctype=full+rctarget=output+skip=true+feedback=false"
    )
    assert compute_hash(long_args, "42", "imagenette") == ":hash=e422434b"


# Text without "hash=" (where the seed's idempotence test cannot fire): any Unicode.
no_hash_text = st.text(max_size=60).filter(lambda s: "hash=" not in s)
plain_args = st.lists(st.one_of(no_hash_text, st.integers(), st.floats()), max_size=6)


@given(args=plain_args, length=st.integers(1, 32))
def test_equals_the_seed_on_arguments_without_hash(args: list[object], length: int) -> None:
    assert compute_hash(*args, length=length) == seed_compute_hash(*args, length=length)


@given(args=st.lists(no_hash_text, min_size=1, max_size=5), length=st.integers(1, 32))
def test_idempotent(args: list[str], length: int) -> None:
    once = compute_hash(*args, length=length)
    assert compute_hash(once, length=length) == once
    assert compute_hash(once, *args, length=length) == once
    assert compute_hash(once.lstrip(":"), "x") == once.lstrip(":")


@given(rows=st.lists(plain_args, max_size=30), length=st.integers(1, 32))
def test_batch_equals_single_calls(rows: list[list[object]], length: int) -> None:
    assert compute_hashes(rows, length=length) == [compute_hash(*r, length=length) for r in rows]


def test_large_batch_in_parallel_keeps_order_and_equals_the_seed() -> None:
    rows = [(f":tsteps={i}+dt=2", i % 7, "imagenette") for i in range(20_000)]
    rows[123] = (":hash=0badc0de", "1", "x")  # idempotent rows inside a parallel batch
    expected = [seed_compute_hash(*r) for r in rows]
    assert compute_hashes(rows) == expected
    assert compute_hashes(iter(rows)) == expected
    assert compute_hashes([list(r) for r in rows]) == expected


def test_no_collisions_at_full_length_in_a_large_sample() -> None:
    rows = [(f":tsteps={i}+dt={i % 97}", str(i % 13), "imagenette") for i in range(200_000)]
    assert len(set(rows)) == len(rows)
    assert len(set(compute_hashes(rows, length=32))) == len(rows)


def test_substring_hash_is_not_a_token_unlike_the_seed() -> None:
    # The seed returns 'nohash=1' itself, so every model with that value shares one "hash".
    assert seed_compute_hash("nohash=1", "42") == "nohash=1"
    assert compute_hash("nohash=1", "42") == ":hash=" + hashlib.md5(b"nohash=1_42").hexdigest()[:8]
    assert compute_hash("nohash=1", "42") != compute_hash("nohash=2", "42")
    assert compute_hash("a=1+hash=ab", "42").startswith(":hash=")


@pytest.mark.parametrize("bad", ["hash=", ":hash=", "hash=3FCE9ECB", ":hash=12g4", "hash=a b"])
def test_malformed_hash_tokens_are_refused(bad: str) -> None:
    with pytest.raises(IdentifierError, match=r"argument 1: .*at position \d+"):
        compute_hash("x", bad)
    with pytest.raises(IdentifierError, match=r"row 1: argument 1"):
        compute_hashes([("x",), ("x", bad)])


def test_canonical_is_opt_in_and_sorts_keys() -> None:
    a, b = ":tsteps=20+dt=2", ":dt=2+tsteps=20"
    assert compute_hash(a, "42", "x") != compute_hash(b, "42", "x")
    assert compute_hash(a, "42", "x", canonical=True) == compute_hash(b, "42", "x", canonical=True)
    assert compute_hashes([(a, "42", "x"), (b, "42", "x")], canonical=True)[0] == compute_hash(
        b, "42", "x", canonical=True
    )
    with pytest.raises(
        IdentifierError, match=r"argument 0: .*empty key .*at position 5 in \"dt=2\+=3\""
    ):
        compute_hash(":dt=2+=3", canonical=True)


@pytest.mark.parametrize("length", [0, -1, 33, True, "8", 1.5])
def test_bad_lengths(length: object) -> None:
    with pytest.raises(DigestLengthError):
        compute_hash("x", length=length)  # type: ignore[arg-type]
    with pytest.raises(DigestLengthError):
        compute_hashes([("x",)], length=length)  # type: ignore[arg-type]


def test_rows_must_be_sequences_of_arguments() -> None:
    with pytest.raises(InputTypeError, match="row 1: a row is a tuple or list"):
        compute_hashes([("a",), "abc"])  # type: ignore[list-item]
    with pytest.raises(InputTypeError, match="row 0: .* got int"):
        compute_hashes([3])  # type: ignore[list-item]


def test_large_batch_of_mixed_rows_equals_single_calls() -> None:
    # The pipelined batch borrows tuples of str in place and converts every other row (lists,
    # non-str arguments); both kinds, across chunk boundaries, must hash alike.
    rows: list[Any] = []
    for i in range(12_000):
        args = (f":tsteps={i}+dt=2", i % 7, "imagenette")
        rows.append(args if i % 3 else [str(a) for a in args])
    expected = [compute_hash(*r) for r in rows]
    assert compute_hashes(rows) == expected
    assert compute_hashes(tuple(tuple(r) for r in rows)) == expected


def test_large_batch_errors_name_the_first_bad_row_whatever_the_timing() -> None:
    rows: list[Any] = [(f":tsteps={i}", "42", "x") for i in range(20_000)]
    rows[9_000] = ("x", "hash=BAD")
    rows[5_000] = ("x", "hash=")
    for _ in range(3):
        with pytest.raises(IdentifierError, match=r"^row 5000: argument 1"):
            compute_hashes(rows)
    # A row that is not a row at all is found even after a hashing error.
    rows[19_000] = 7
    with pytest.raises(InputTypeError, match=r"^row 19000: .* got int"):
        compute_hashes(rows)


def test_batch_reads_a_snapshot_while_another_thread_replaces_rows() -> None:
    # While the workers hash, the GIL is free and another thread may replace the caller's rows;
    # the old row tuples and their strings are then freed unless the batch holds them.
    def fresh(i: int) -> tuple[str, ...]:
        return tuple((a + "!")[:-1] for a in (f":tsteps={i}+dt=2", str(i % 7), "imagenette"))

    n = 100_000
    expected = [seed_compute_hash(*fresh(i)) for i in range(n)]
    rows = [fresh(i) for i in range(n)]
    stop = threading.Event()

    def replace_rows_with_equal_copies() -> None:
        i = 0
        while not stop.is_set():
            rows[i % n] = fresh(i % n)
            i += 1

    churn = threading.Thread(target=replace_rows_with_equal_copies)
    churn.start()
    try:
        for _ in range(3):
            assert compute_hashes(rows) == expected
    finally:
        stop.set()
        churn.join()


def test_objects_whose_str_is_their_address_are_refused() -> None:
    # str(object()) is '<object object at 0x...>': a different hash in every process.
    with pytest.raises(InputTypeError, match="memory address"):
        compute_hash(":a=1", object())
    with pytest.raises(InputTypeError, match="row 1: .*memory address"):
        compute_hashes([(":a=1", "1"), (":a=1", object())])

    class Named:
        def __str__(self) -> str:
            return "named"

    assert compute_hash(Named()) == compute_hash("named")
    assert compute_hash(Path("x"), 42, 1.5) == compute_hash("x", "42", "1.5")


UNSTABLE = {
    "lambda": "lambda x: x",
    "set": "{'tsteps=20', 'dt=2', 'tau=5'}",
    "frozenset": "frozenset({'a', 'b', 'c'})",
    "set in a list": "['a', {'b', 'c', 'd'}]",
    "set in a dict": "{'k': {'b', 'c', 'd'}}",
    "bound method": "[].append",
    "generator": "(x for x in 'ab')",
}


@pytest.mark.parametrize("source", UNSTABLE.values(), ids=UNSTABLE.keys())
def test_arguments_whose_str_changes_from_run_to_run_are_refused(source: str) -> None:
    value = eval(source)  # a fresh object per call: generators are used up
    with pytest.raises(InputTypeError, match=r"argument 1: .*(PYTHONHASHSEED|memory address)"):
        compute_hash(":a=1", value)
    with pytest.raises(InputTypeError, match=r"row 1: argument 2: "):
        compute_hashes([(":a=1",), (":a=1", "42", eval(source))])


@pytest.mark.parametrize("row", [{"a", "b", "c"}, frozenset({"a", "b", "c"})])
def test_set_rows_are_refused(row: object) -> None:
    with pytest.raises(InputTypeError, match=r"row 1: .*got (frozen)?set .*PYTHONHASHSEED"):
        compute_hashes([("a", "b"), row])  # type: ignore[list-item]


def test_a_list_that_holds_itself_is_hashed_like_its_str() -> None:
    looped: list[object] = ["a"]
    looped.append(looped)
    assert compute_hash(looped) == compute_hash("['a', [...]]")


HASH_IN_CHILD = """
import json, sys
from cubie_hash import InputTypeError
from cubie_hash.snakemake import compute_hash, compute_hashes
from pathlib import Path
out = {}
for name, source in json.loads(sys.argv[1]).items():
    try:
        out[name] = [compute_hash(":a=1", eval(source)), compute_hashes([(":a=1", eval(source))])]
    except InputTypeError:
        out[name] = "refused"
    out[name + " as text"] = str(eval(source)) if "lambda" not in source else "-"
print(json.dumps(out))
"""


def test_what_is_accepted_hashes_alike_under_every_hash_seed() -> None:
    # Real processes with different PYTHONHASHSEED values: str-ing a set (say) differs between
    # them, so every such input must be refused and every accepted one must agree.
    stable = {
        "int": "42",
        "float": "1.5",
        "dict": "{'b': 1, 'a': [1, 2.5, 'x']}",
        "tuple": "('a', 1, None, True)",
        "path": "Path('models/M_1_d')",
        "str subclass": "type('S', (str,), {})('abc')",
    }
    results = []
    for seed in ("0", "1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        argv = [sys.executable, "-c", HASH_IN_CHILD, json.dumps({**stable, **UNSTABLE})]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout))
    for name in stable:
        assert {json.dumps(r[name]) for r in results} == {json.dumps(results[0][name])}, name
        assert results[0][name] != "refused", name
    for name in UNSTABLE:
        assert {r[name] for r in results} == {"refused"}, name
    # What the refusal protects against: the sets' text does move with the seed.
    assert len({r["set as text"] for r in results}) > 1


def test_a_lone_surrogate_is_a_typed_error_naming_argument_and_row() -> None:
    # Once a bare UnicodeEncodeError (single call) or "TypeError: function takes exactly 5
    # arguments (1 given)" (batch): the row prefix could not be put on it.
    with pytest.raises(InputTypeError, match=r"^argument 1: .*'\\ud800' at position 2"):
        compute_hash("ok", "ab\ud800")
    with pytest.raises(InputTypeError, match=r"^row 2: argument 0: .*lone surrogate"):
        compute_hashes([("a",), ("b",), ("\udcff",)])
    rows: list[Any] = [(f":tsteps={i}", "42", "x") for i in range(5_000)]
    rows[4_321] = [":a=1", "\ud800"]  # a converted row, in a parallel batch
    with pytest.raises(InputTypeError, match=r"^row 4321: argument 1: "):
        compute_hashes(rows)
    # The hash token check goes first and must not trip over a surrogate either.
    with pytest.raises(InputTypeError, match="argument 0"):
        compute_hash("hash=\ud800")


def test_an_error_raised_by_str_keeps_its_row_whatever_its_constructor() -> None:
    class Undecodable:
        def __str__(self) -> str:
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    class Missing:
        def __str__(self) -> str:
            raise RuntimeError("no such key")

    # UnicodeDecodeError cannot be rebuilt from a message alone: a typed error instead of
    # "TypeError: function takes exactly 5 arguments (1 given)".
    with pytest.raises(InputTypeError, match=r"^row 1: argument 1: 'utf-8' codec") as info:
        compute_hashes([("a",), ("a", Undecodable())])
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
    with pytest.raises(RuntimeError, match=r"^row 0: argument 0: no such key$"):
        compute_hashes([(Missing(),)])
