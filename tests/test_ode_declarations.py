"""Declarations read in Rust (``_core.ode_declare``) with the messages they always had."""

from __future__ import annotations

import keyword
import unicodedata
from typing import Any

import pytest
from cubie_hash import EquationError, InputTypeError
from cubie_hash.ode import parse_equations
from cubie_hash.ode.declarations import check_identifier, declare
from hypothesis import example, given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"states": (s for s in ["x", "x"])}, "'x' is declared twice: as state and as state"),
        (
            {"states": ["x"], "parameters": {"ℌ": 1}, "constants": {"H": 2}},
            "'H' is declared twice (spelled 'ℌ' and 'H'): as parameter and as constant",
        ),
        ({"states": ["x"], "constants": ["c"], "drivers": ["c"]}, "as constant and as driver"),
        ({"states": ["1x"]}, "state name '1x' is not an identifier"),
        ({"states": ["class"]}, "state name 'class' is not an identifier"),
        ({"states": ["Ｔrue"]}, "state name 'Ｔrue' is not an identifier"),  # NFKC: True
        ({"states": [""]}, "state name '' is not an identifier"),
        ({"states": ["x"], "parameters": ["a b"]}, "parameter name 'a b' is not an identifier"),
        ({"states": ["x", 3]}, "state name 3 is not an identifier"),
        ({"states": ["x"], "parameters": "ab"}, "got the string 'ab'"),
    ],
)
def test_declaration_errors(declared: dict[str, Any], message: str) -> None:
    with pytest.raises(EquationError) as err:
        declare(**declared)
    assert message in str(err.value)


def test_a_layout_that_is_no_list_is_a_type_error() -> None:
    with pytest.raises(InputTypeError, match="states must be a list of names or a dict, got int"):
        declare(5)  # type: ignore[arg-type]


def test_names_are_normalised_and_values_follow_them() -> None:
    d = declare({"µ": 1.0, "ﬁ": 2.0}, parameters={"k": 3}, constants=["c"], drivers=["_"])
    assert d.states == ("μ", "fi") and d.state_values == {"μ": 1.0, "fi": 2.0}
    assert d.parameter_values == {"k": 3} and d.constants == {"c": 0.0}
    assert d.drivers == ("_",)
    assert check_identifier("ℌ", "state") == "H"
    sp = pytest.importorskip("sympy")
    assert declare([sp.Symbol("y")]).states == ("y",)
    p = parse_equations("dμ = -k*µ", states=["µ"], parameters={"k": 3})
    assert p.states == ("μ",) and p.parameter_values == {"k": 3}


def test_any_mapping_or_iterable_is_a_layout_but_an_old_style_sequence_is_not() -> None:
    from types import MappingProxyType

    d = declare(MappingProxyType({"x": 1.0}), parameters=("k" for _ in range(1)))
    assert d.states == ("x",) and d.state_values == {"x": 1.0} and d.parameters == ("k",)

    class OldSequence:  # iter() accepts it; collections.abc.Iterable does not
        def __getitem__(self, i: int) -> str:
            raise IndexError

    with pytest.raises(InputTypeError, match="got OldSequence"):
        declare(OldSequence())  # type: ignore[arg-type]


def reference_identifier(name: str) -> str | None:
    """Python's own rule, as declarations.py spelled it before the check moved to Rust."""
    if not name.isidentifier():
        return None
    normal = unicodedata.normalize("NFKC", name)
    return None if keyword.iskeyword(normal) else normal


@settings(max_examples=300)
@given(st.text(max_size=8) | st.sampled_from([*keyword.kwlist, "match", "_", "x1", "1x"]))
@example("ﬁ")
@example("Ｔrue")
@example("x\u0300")
def test_identifiers_follow_python(name: str) -> None:
    expected = reference_identifier(name)
    if expected is None:
        with pytest.raises(EquationError, match="is not an identifier"):
            check_identifier(name, "state")
    else:
        assert check_identifier(name, "state") == expected
