"""The raw-input prehash, pinned: the codegen cache's warm-start index (``prehash/<key>.json``)
is keyed by these values, so a rewrite of the prehash must give the very same keys.

The golden systems pin the prehash of ordinary text (``test_ode.py``); the texts here exercise
the tokenizer's corners (operators, numbers, Unicode, whitespace, comments, line order) and
every raw input form.
"""

from __future__ import annotations

from typing import Any

import pytest
from cubie_hash.ode import parse_equations, prehash
from cubie_hash.ode.examples import generated

DECLARED: dict[str, Any] = {"states": ["x", "y"], "parameters": ["a", "b"]}

CASES: dict[str, dict[str, Any]] = {
    "generated-40": generated(40),
    "generated-340": generated(340),
    "operators": {
        "dxdt": (
            "dx = a**b // c == d != e <= f >= g << h >> i * *j ** -k\n"
            "dy = (a<b) and not (c>=d) or e if f else g"
        ),
        **DECLARED,
    },
    "numbers": {
        "dxdt": "dx = 1e-3 + 1e -3 + 1.5E+3*x2 + .5 + 5. + 0x1F + 1_000 + 3j + x.5 + 1e+ + 2e-x",
        **DECLARED,
    },
    "whitespace": {
        "dxdt": "\r\n \t dx\t=\u00a0a *(y -x)\u3000# comment # more\r\n\n#only\ndy=-x\n",
        **DECLARED,
    },
    "unicode": {
        "dxdt": "dµ = ℌ*é + ∂ - ٣a + ½ + xµ\ndℌ = -µ",
        "states": ["µ", "ℌ"],
        "parameters": {"é": 1.0},
    },
    "line-order": {"dxdt": "dy = 3\ndx = 1\ndx = 0\nb = 2\ndx=1\ndx -x\n= y\nx == y", **DECLARED},
    "lines": {"dxdt": ["dx = -a*x  # decay", "", "dy = x"], **DECLARED},
    "pairs": {"dxdt": [("dx", "-a*x"), (" dy ", "x")], **DECLARED},
    "dict": {"dxdt": {"dy": "x", "dx": "-a*x"}, **DECLARED},
    "constants": {
        "dxdt": "dx = -a*x*c + d + e\ndy = x",
        "states": {"x": 1.0, "y": 2.0},
        "parameters": {"a": 0.5},
        "constants": {"e": 10**40, "c": 2, "d": -0.0},
        "observables": [],
        "drivers": ["b"],
    },
    "constant-list": {"dxdt": "dx = -c*x\ndy = x", "states": ["x", "y"], "constants": ["c"]},
}

PINNED = {
    "generated-40": "75fb0776e1b8a432fe0066925e1fae5636cdd8de37b158e8618aef681f0441e7",
    "generated-340": "400b4575fb0e740c48de300d438a45ef582de254eb366e0084fd8f30c6de3445",
    "operators": "13e7ac63129f60ede2e9c1a6aeabd264b30d9c0e72aed1bbf115f3aae366ddbb",
    "numbers": "83ad4d3fbd3e06ff288f7bc5b1cd6b06d19d550f677e2c3f3a4821d2f6214c45",
    "whitespace": "13a835c4145fdaa4c9822c235bf0bebdf3e51a9f2cfae84dc2c35c5d7af5cbc9",
    "unicode": "47b4cd927beaa3f74811f2a77fd1345d55d7838e3f0e8c69051a5e880feade1b",
    "line-order": "32a6d78b76f6cc10c785d6492b61ef506276092306006e577db2e5b072f6bceb",
    "lines": "490a4f18c4bc84994890f948aaf701762dfdf67dbaaf058fc7360318fae325bd",
    "pairs": "490a4f18c4bc84994890f948aaf701762dfdf67dbaaf058fc7360318fae325bd",
    "dict": "490a4f18c4bc84994890f948aaf701762dfdf67dbaaf058fc7360318fae325bd",
    "constants": "b8f202e40b2efd97f221906bbf827f0db5df0d616004f35e041ea48cb246b9aa",
    "constant-list": "503ea3afe7f7793ad0c5cdc865238fbcb5046835720ae564db9a86acb92a472c",
}


@pytest.mark.parametrize("name", CASES)
def test_prehash_is_pinned(name: str) -> None:
    assert prehash(**CASES[name]) == PINNED[name]


@pytest.mark.parametrize("name", ["generated-40", "generated-340", "lines", "pairs", "dict"])
def test_parsed_text_carries_the_same_prehash(name: str) -> None:
    assert parse_equations(**CASES[name]).prehash == PINNED[name]


def test_an_iterator_of_lines_is_read_once_for_the_parse_and_the_prehash() -> None:
    lines = ["dx = -a*x  # decay", "", "dy = x"]
    parsed = parse_equations(iter(lines), **DECLARED)
    assert parsed.prehash == PINNED["lines"]
    assert parsed.fn_hash == parse_equations(lines, **DECLARED).fn_hash
    other = parse_equations(iter(["dx = -2*a*x", "dy = x"]), **DECLARED)
    assert other.prehash != parsed.prehash
