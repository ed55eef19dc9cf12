"""Fuzzing the Rust entry points with hostile text: each returns the right answer or raises a
CubieHashError naming the argument, row or item — never a bare UnicodeError, a TypeError from a
broken re-raise, or a panic.

Text here holds lone surrogates (what ``errors="surrogateescape"`` leaves in file names and
command-line arguments), NUL, combining marks, bidi controls, the last code point, and the odd
input a hundred thousand characters long.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from cubie_hash import CubieHashError, IdentifierError, InputTypeError, digest, digest_many
from cubie_hash.snakemake import (
    args_to_flags,
    canonical_args,
    compute_hash,
    compute_hashes,
    format_identifier,
    parse_args,
    parse_identifier,
)
from hypothesis import example, given
from hypothesis import strategies as st

ODD = ["\ud800", "\udcff", "\udfff", "\0", "e\u0301", "\u202e", "\ufeff", "\U0010ffff", "ß", "İ"]
SEPARATORS = [":", "_", "+", "=", "/", "hash=", ":hash=", "hash=ab", "a=1"]
pieces = st.one_of(
    st.characters(exclude_categories=()),  # every category, surrogates (Cs) included
    st.sampled_from(ODD),
    st.sampled_from(SEPARATORS),
)
texts = st.one_of(
    st.lists(pieces, max_size=20).map("".join),
    # The odd huge input: a few pieces repeated (hypothesis shrinks the count, not a blob).
    st.builds(
        lambda unit, n: "".join(unit) * n,
        st.lists(pieces, min_size=1, max_size=3),
        st.integers(0, 30_000),
    ),
)
TOKEN = re.compile(r":*hash=")


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def reference_hash(args: list[str]) -> str:
    joined = "_".join(a.lstrip(":") for a in args)
    return ":hash=" + hashlib.md5(joined.encode()).hexdigest()[:8]


@given(args=st.lists(texts, max_size=5))
@example(args=["\ud800"]).via("the issue's lone surrogate")
@example(args=["hash=\udcff"]).via("a token with a surrogate")
def test_compute_hash(args: list[str]) -> None:
    try:
        result = compute_hash(*args)
    except CubieHashError as err:
        bad = [i for i, a in enumerate(args) if not encodable(a) or TOKEN.match(a)]
        assert bad, err
        assert re.match(r"argument \d+: ", str(err)), err
        if not any(encodable(a) for a in args):
            assert isinstance(err, InputTypeError)
        return
    assert all(encodable(a) for a in args)
    if not any(TOKEN.match(a) for a in args):
        assert result == reference_hash(args)
    else:
        assert result in args


@given(rows=st.lists(st.lists(texts, max_size=3), max_size=6), canonical=st.booleans())
def test_compute_hashes_fails_like_the_first_failing_row(
    rows: list[list[str]], canonical: bool
) -> None:
    singles: list[str | CubieHashError] = []
    for row in rows:
        try:
            singles.append(compute_hash(*row, canonical=canonical))
        except CubieHashError as err:
            singles.append(err)
    failed = [i for i, s in enumerate(singles) if isinstance(s, CubieHashError)]
    if not failed:
        assert compute_hashes(rows, canonical=canonical) == singles
        return
    with pytest.raises(CubieHashError) as info:
        compute_hashes(rows, canonical=canonical)
    # Conversion errors (surrogates) are found while borrowing, before any hashing error.
    assert re.match(rf"row ({'|'.join(map(str, failed))}): argument \d+: ", str(info.value))


@given(items=st.lists(st.one_of(texts, st.binary(max_size=50)), max_size=8))
def test_digest_and_digest_many(items: list[str | bytes]) -> None:
    expected: list[str | None] = []
    for item in items:
        if isinstance(item, str) and not encodable(item):
            with pytest.raises(InputTypeError, match="lone surrogate"):
                digest(item)
            expected.append(None)
        else:
            data = item.encode() if isinstance(item, str) else item
            assert digest(item) == hashlib.md5(data).hexdigest()
            expected.append(hashlib.md5(data).hexdigest())
    if None in expected:
        with pytest.raises(InputTypeError, match=rf"^item {expected.index(None)}: "):
            digest_many(items)
    else:
        assert digest_many(items) == expected


@given(text=texts)
@example(text="M:a=\ud800_1_d")
def test_parsers_refuse_with_identifier_errors(text: str) -> None:
    for parse in (parse_identifier, parse_args, canonical_args, args_to_flags):
        try:
            parse(text)
        except IdentifierError:
            pass
        else:
            assert encodable(text)


@given(name=texts, key=texts, value=texts, seed=texts, data=texts)
def test_format_identifier_round_trips_or_refuses(
    name: str, key: str, value: str, seed: str, data: str
) -> None:
    try:
        text = format_identifier(name, [(key, value)], seed, data)
    except IdentifierError:
        return
    assert parse_identifier(text) == (name, f":{key}={value}", [(key, value)], seed, data)
