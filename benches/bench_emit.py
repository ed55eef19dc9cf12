"""Numba compile time of a 340-equation model: the module printed from the canonical form
(common subexpressions computed once) against today's reference, SymPy's code printer run on
the input trees (kept below as it was in ``cubie_hash.codegen.printer``).

Both modules have the same header, RK4 loop and batch driver; only the bodies of ``dxdt`` and
``observables`` differ.  Each round executes the module, so Numba compiles all four entry
points (explicit signatures, without its on-disk cache); the time is this process's CPU
time.  ``extra_info["source_chars"]`` holds each module's length; ``ratios.py`` prints both
tables.

Models: ``examples.generated(340)`` (synthetic, few repeats) and a 26-compartment
Hodgkin-Huxley cable (338 equations: gating rates share exponentials, currents share
``V - E``), closer to the cardiac models of issue 9.

Also timed: generating the source itself (SymPy printer against the emitter).

Run with ``python benches/ratios.py benches/bench_emit.py`` (after ``maturin develop --release``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import sympy
from cubie_hash.codegen import Variant, generate_source
from cubie_hash.ode import parse_equations
from cubie_hash.ode.examples import generated, hodgkin_huxley
from sympy.printing.pycode import PythonCodePrinter

# -- the reference: the SymPy printer path as it was before issue 9 ---------------------------


class ExpressionPrinter(PythonCodePrinter):  # type: ignore[misc]
    """Print one right-hand side with renamed symbols and precision-typed literals."""

    def __init__(self, names: Mapping[str, str]) -> None:
        super().__init__({"fully_qualified_modules": True, "strict": True})
        self._names = dict(names)

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return self._names[expr.name]

    def _print_Float(self, expr: sympy.Float) -> str:
        return f"_precision({float(expr)!r})"

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return f"(_precision({expr.p})/_precision({expr.q}))"

    def _print_Half(self, expr: Any) -> str:
        return self._print_Rational(expr)


def _needed(ordered: Sequence[tuple[Any, Any]], roots: Sequence[Any]) -> list[tuple[Any, Any]]:
    needed = {sym.name for sym in roots}
    for lhs, rhs in reversed(ordered):
        if lhs.name in needed:
            needed.update(s.name for s in rhs.free_symbols)
    return [(lhs, rhs) for lhs, rhs in ordered if lhs.name in needed]


def _reference_body(parsed: Any, printer: ExpressionPrinter, outputs: Sequence[Any]) -> list[str]:
    lines = [f"v_{n} = state[{i}]" for i, n in enumerate(parsed.states)]
    lines += [f"v_{n} = parameters[{i}]" for i, n in enumerate(parsed.parameters)]
    lines += [f"v_{n} = drivers[{i}]" for i, n in enumerate(parsed.drivers)]
    lines += [f"v_{n} = _precision({float(v)!r})" for n, v in sorted(parsed.constants.items())]
    for lhs, rhs in _needed(parsed.ordered, outputs):
        lines.append(f"v_{lhs.name} = {printer.doprint(rhs)}")
    lines += [f"out[{i}] = v_{sym.name}" for i, sym in enumerate(outputs)]
    return lines or ["pass"]


def reference_source(parsed: Any) -> str:
    """Today's canonical module with its two bodies printed by the old SymPy printer."""
    source = generate_source(parsed, Variant())
    declared = [*parsed.states, *parsed.parameters, *parsed.drivers, *parsed.constants]
    names = {n: f"v_{n}" for n in declared + [lhs.name for lhs, _ in parsed.ordered]}
    names.setdefault("t", "t")
    printer = ExpressionPrinter(names)
    for name, pairs in (("dxdt", parsed.state_derivatives), ("observables", parsed.observables)):
        body = _reference_body(parsed, printer, [lhs for lhs, _ in pairs])
        head = f"def {name}(state, parameters, drivers, t, out):\n"
        pattern = re.compile(re.escape(head) + r"(?:    .*\n)+")
        text = head + "".join(f"    {line}\n" for line in body)
        match = pattern.search(source)
        assert match is not None
        source = source[: match.start()] + text + source[match.end() :]
    return source


# -- models -----------------------------------------------------------------------------------


def cable(compartments: int) -> dict[str, Any]:
    """Hodgkin-Huxley compartments in a row, coupled by their neighbours' voltages."""
    hh = hodgkin_huxley()
    lines, states = [], []
    local = re.compile(r"\b(V|m|h|n|alpha_\w|beta_\w|I_Na|I_K|I_L|dV|dm|dh|dn)\b")
    for i in range(compartments):
        lines += [local.sub(rf"\1_{i}", line) for line in hh["dxdt"].splitlines()]
        left, right = f"V_{max(i - 1, 0)}", f"V_{min(i + 1, compartments - 1)}"
        lines[-4] = lines[-4].replace(
            f"dV_{i} = (", f"dV_{i} = (g_c*({left} - 2*V_{i} + {right}) + "
        )
        states += [f"{s}_{i}" for s in hh["states"]]
    return {
        "dxdt": "\n".join(lines) + "\n",
        "states": states,
        "parameters": [*hh["parameters"], "g_c"],
        "constants": hh["constants"],
        "drivers": hh["drivers"],
    }


MODELS = {"generated(340)": lambda: generated(340), "HH cable (338)": lambda: cable(26)}


def compile_module(source: str) -> Any:
    uncached = source.replace(", cache=True", "").replace("(cache=True)", "()")
    namespace: dict[str, Any] = {"__name__": "bench_emit_module"}
    exec(compile(uncached, "bench_emit_module", "exec"), namespace)
    return namespace["integrate_batch"]


# CPU time of this process: Numba compiles on one thread, and on a shared machine the wall
# clock measures the neighbours more than the compile.
@pytest.mark.benchmark(timer=time.process_time)
@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("impl", ["reference", "cubie_hash"])
def test_compile_340_equations(benchmark, model: str, impl: str) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_equations(**MODELS[model]())
    assert len(parsed.ordered) >= 338
    source = reference_source(parsed) if impl == "reference" else generate_source(parsed, Variant())
    benchmark.group = f"numba compile, {model}"
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["source_chars"] = len(source)
    benchmark.pedantic(compile_module, args=(source,), rounds=3, iterations=1, warmup_rounds=0)


@pytest.mark.parametrize("impl", ["reference", "cubie_hash"])
def test_generate_340_equations(benchmark, impl: str) -> None:  # type: ignore[no-untyped-def]
    # The reference's figure includes one canonical generation (its template): a few percent.
    parsed = parse_equations(**MODELS["HH cable (338)"]())
    benchmark.group = "generate source, HH cable (338)"
    benchmark.extra_info["impl"] = impl
    if impl == "reference":
        benchmark.pedantic(reference_source, args=(parsed,), rounds=5, iterations=1)
    else:
        benchmark.pedantic(generate_source, args=(parsed, Variant(), "bench"), rounds=5)
