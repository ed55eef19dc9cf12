"""Identifier parsing, formatting, flags and the Snakemake wildcard helpers."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from cubie_hash import IdentifierError
from cubie_hash.snakemake import (
    ModelIdentifier,
    args_to_flags,
    canonical_args,
    compute_hash,
    hashed_identifier,
    model_identifier_regex,
    parse_args,
    parse_arguments,
    wildcard_constraints,
)
from hypothesis import given
from hypothesis import strategies as st

SEED_ID = (
    "DyRCNNx8:tsteps=20+dt=2+tau=5+tff=0+trc=6+tsk=0+lossrt=4+energyloss=0.1+pattern=1"
    "+rctype=full+rctarget=output+skip=true+feedback=false+dloader=torch_6000_imagenette"
    "_42_imagenette"
)

keys = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=10)
values = st.text(min_size=1, max_size=12).filter(
    lambda v: not any(c in v for c in "+=/\0") and not v.startswith(":")
)
names = st.text(min_size=1, max_size=10).filter(lambda v: not any(c in v for c in ":_+=/\0"))
identifiers = st.builds(
    ModelIdentifier,
    name=names,
    params=st.dictionaries(keys, values, max_size=6).map(lambda d: tuple(d.items())),
    seed=names,
    data=names,
)


@given(ident=identifiers)
def test_format_parse_round_trip(ident: ModelIdentifier) -> None:
    text = str(ident)
    assert ModelIdentifier.parse(text) == ident
    assert str(ModelIdentifier.parse(text)) == text
    assert ident.hash() == compute_hash(ident.args, ident.seed, ident.data)


@given(ident=identifiers)
def test_canonical_form_ignores_key_order(ident: ModelIdentifier) -> None:
    shuffled = ModelIdentifier(ident.name, tuple(reversed(ident.params)), ident.seed, ident.data)
    assert shuffled.hash(canonical=True) == ident.hash(canonical=True)
    if ident.params:
        assert canonical_args(ident.args) == "+".join(f"{k}={v}" for k, v in sorted(ident.params))


def test_parses_the_seed_identifier() -> None:
    ident = ModelIdentifier.parse(SEED_ID)
    assert (ident.name, ident.seed, ident.data) == ("DyRCNNx8", "42", "imagenette")
    assert ident.params[-1] == ("dloader", "torch_6000_imagenette")
    assert ident.flags()[:4] == ["--tsteps", "20", "--dt", "2"]
    assert str(ident) == SEED_ID


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("M:a=1+=2_1_d", "empty key .*at position 6 "),
        ("M:a==2_1_d", "'=' inside the value of key \"a\" .*at position 4 "),
        ("M:a=1+a=2_1_d", "repeated .*at position 6 "),
        ("M:a=1+b_1_d", "no '=' .*at position 6 "),
        ("M:a=1_d", "only one '_'"),
        ("M:hash=3fce9ecb", "hashed identifier"),
        ("M/x:a=1_1_d", "model name"),
        ("M:a=x/y_1_d", "'/'"),
    ],
)
def test_malformed_identifiers_raise_with_position(text: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message) as info:
        ModelIdentifier.parse(text)
    assert repr(text)[1:-1] in str(info.value) or text in str(info.value)


def test_constructor_refuses_what_cannot_round_trip() -> None:
    with pytest.raises(IdentifierError):
        ModelIdentifier("M", (("a", "1+b=2"),), "1", "d")
    with pytest.raises(IdentifierError, match="seed"):
        ModelIdentifier("M", (), "4_2", "d")


def test_flags_like_the_seed() -> None:
    assert args_to_flags("+tsteps=20+dt=2") == ["--tsteps", "20", "--dt", "2"]
    assert parse_args(":tsteps=20+dt=2") == [("tsteps", "20"), ("dt", "2")]
    assert parse_arguments({"model_args": ":tsteps=20+dt=2"}) == "--tsteps 20 --dt 2"
    assert parse_arguments(SimpleNamespace(data_args=":a=x y"), "data_args") == "--a 'x y'"
    with pytest.raises(IdentifierError, match="wildcard 'model_args' is not set"):
        parse_arguments({})


def test_polymorphic_wildcard_matches_both_forms_only() -> None:
    pattern = re.compile(model_identifier_regex())
    full = SEED_ID.removeprefix("DyRCNNx8")
    assert pattern.fullmatch(full)
    assert pattern.fullmatch(":hash=3fce9ecb")
    for wrong in (":hash=3fce9ec", ":hash=3fce9ecb0", ":hash=3FCE9ECB", ":a=1", ":a=1/x_1_d"):
        assert not pattern.fullmatch(wrong), wrong
    assert re.compile(model_identifier_regex(12)).fullmatch(":hash=3fce9ecb0000")
    constraints = wildcard_constraints()
    assert re.fullmatch(constraints["model_name"], "DyRCNNx8")
    assert not re.fullmatch(constraints["model_args"], ":hash=3fce9ecb")


def test_hashed_identifier_for_input_functions() -> None:
    w = SimpleNamespace(model_args=":tsteps=20+dt=2", seed="42", data_name="imagenette")
    assert hashed_identifier(w) == ":hash=3fce9ecb"
    assert hashed_identifier({"a": ":tsteps=20+dt=2", "s": 42, "d": "imagenette"}, "a", "s", "d")
    assert hashed_identifier(w, length=12) == compute_hash(
        ":tsteps=20+dt=2", "42", "imagenette", length=12
    )


def test_module_docstring_examples() -> None:
    import doctest

    import cubie_hash.snakemake
    import cubie_hash.snakemake.identifiers
    import cubie_hash.snakemake.paramspace
    import cubie_hash.snakemake.paths

    for module in (
        cubie_hash.snakemake.identifiers,
        cubie_hash.snakemake.paramspace,
        cubie_hash.snakemake.paths,
        cubie_hash.snakemake,
    ):
        assert doctest.testmod(module).failed == 0, module.__name__


@pytest.mark.timeout(60)  # a hang guard, not a timing assert: quadratic parsing took minutes
def test_a_megabyte_identifier_parses_and_round_trips() -> None:
    params = tuple((f"key{i}", f"value{i}") for i in range(70_000))
    text = "M:" + "+".join(f"{k}={v}" for k, v in params) + "_42_data"
    assert len(text) > 1_000_000
    ident = ModelIdentifier.parse(text)
    assert ident.params == params and str(ident) == text
    assert len(parse_args(ident.args)) == len(params)
    assert canonical_args(ident.args).startswith("key0=value0+key1=value1+key10=value10+")
    with pytest.raises(IdentifierError, match=r"key 'key7'|key \"key7\" repeated"):
        ModelIdentifier.parse(text.replace("_42_data", "+key7=x_42_data"))
