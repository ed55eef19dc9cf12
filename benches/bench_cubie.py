"""cubie_hash with CuBIE 0.17, side by side with CuBIE's own functions (issue 12).

Targets: lowering CuBIE's IR and hashing it no slower than CuBIE's own ``definition_hash`` on
the same ``ParsedSystem`` (the 340-equation generated system); the canonical front door's
``create_ODE_system`` at most 5% slower than CuBIE's on the bundled systems (``reference`` is
CuBIE, ``cubie_hash`` ours: a speed-up of 0.95x or more meets it).
Run with ``python benches/ratios.py benches/bench_cubie.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

import pytest

if sys.version_info < (3, 11):
    pytest.skip("CuBIE 0.17 needs Python >= 3.11", allow_module_level=True)

os.environ.setdefault("CUBIE_CACHE_DIR", tempfile.mkdtemp(prefix="bench_cubie_"))

from cubie import create_ODE_system as stock_create  # noqa: E402
from cubie.odesystems.symbolic.parsing import parse_system  # noqa: E402
from cubie_hash.integrations.cubie import create_ODE_system as front_create  # noqa: E402
from cubie_hash.ode import hash_system_definition  # noqa: E402
from cubie_hash.ode.examples import EXAMPLES, generated  # noqa: E402

_SYSTEMS: dict[int, Any] = {}


def parsed_system(n: int) -> Any:
    if n not in _SYSTEMS:
        kw = generated(n)
        _SYSTEMS[n] = parse_system(
            kw["dxdt"],
            states=kw["states"],
            parameters=kw["parameters"],
            observables=kw["observables"],
        )
    return _SYSTEMS[n]


def mark(benchmark, group: str, impl: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = group
    benchmark.extra_info["impl"] = impl


@pytest.mark.parametrize("n", [40, 340])
def test_definition_hash_cubie(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    system = parsed_system(n)
    mark(benchmark, f"CuBIE ParsedSystem hash: {n:>3} eqs", "reference")
    benchmark(lambda: system.definition_hash)


@pytest.mark.parametrize("n", [40, 340])
def test_definition_hash_ours(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    system = parsed_system(n)
    mark(benchmark, f"CuBIE ParsedSystem hash: {n:>3} eqs", "cubie_hash")
    benchmark(hash_system_definition, system)


def creation_args(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(stock CuBIE kwargs, front-door kwargs) for one bundled system, as text."""
    kw = EXAMPLES[name]()
    declared = {k: kw.get(k) for k in ("states", "observables", "drivers")}
    parameters = kw.get("parameters") or {}
    if not isinstance(parameters, dict):
        parameters = dict.fromkeys(parameters, 0.0)
    stock = {"dxdt": kw["dxdt"], "parameters": {**parameters, **kw.get("constants", {})}}
    front = {
        "dxdt": kw["dxdt"],
        "parameters": kw.get("parameters"),
        "constants": kw.get("constants"),
    }
    return {**stock, **declared}, {**front, **declared}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_create_stock(benchmark, name: str) -> None:  # type: ignore[no-untyped-def]
    stock, _ = creation_args(name)
    mark(benchmark, f"create_ODE_system: {name}", "reference")
    stock_create(**stock)  # warm: the first call writes the cache file's header
    benchmark(lambda: stock_create(**stock))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_create_front_door(benchmark, name: str) -> None:  # type: ignore[no-untyped-def]
    _, front = creation_args(name)
    mark(benchmark, f"create_ODE_system: {name}", "cubie_hash")
    front_create(**front)  # warm: the first call writes the cache file's header
    benchmark(lambda: front_create(**front))
