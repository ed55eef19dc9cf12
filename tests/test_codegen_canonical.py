"""One canonical form, one program: the module Numba compiles is printed from the canonical
form, so every input form of a system that hashes alike builds the same bytes and computes the
same bits (issue 9).  Real Numba compiles, real child processes, each with its own cache root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy
from codegen_forms import FORMS, INTEGRATED, OTHER_SYSTEM, SPECS, inputs
from cubie_hash import EquationError
from cubie_hash.codegen import (
    GENERATOR_VERSION,
    CacheWarning,
    CodegenCache,
    Variant,
    generate_source,
)
from cubie_hash.codegen.manifest import seal, unseal
from cubie_hash.ode import parse_equations
from cubie_hash.ode.examples import generated

TESTS = Path(__file__).parent


def child(code: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=TESTS,
        env={**os.environ, **(env or {})},
    )


def result(proc: subprocess.Popen[str]) -> Any:
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    return json.loads(stdout.splitlines()[-1])


def build_form(form: str, root: Path, variant: str = "cpu") -> subprocess.Popen[str]:
    """A child process that builds INTEGRATED in ``form`` under ``root`` and integrates them."""
    return child(
        f"""
        import json
        import numpy as np
        from codegen_forms import INTEGRATED, SPECS, in_form, inputs
        from cubie_hash.codegen import CodegenCache, load_system
        cache = CodegenCache({str(root)!r})
        out = {{}}
        for name in INTEGRATED:
            spec = SPECS[name]
            system = load_system(**in_form(spec, {form!r}), cache=cache, target={variant!r})
            y0, params, drivers = inputs(spec, 8)
            final = system.integrate(y0, params, drivers=drivers, dt=1e-3, n_steps=40,
                                     threads_per_block=4)
            out[name] = [system.fn_hash, system.event.kind, final.tolist()]
        print(json.dumps(out))
        """,
        env={"NUMBA_ENABLE_CUDASIM": "1"} if variant == "cuda" else None,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Any]]:
    """Every form of INTEGRATED built in its own process and cache root (two at a time)."""
    roots = {form: tmp_path_factory.mktemp(f"cache-{form}") for form in FORMS}
    done: dict[str, tuple[Path, Any]] = {}
    for pair in (FORMS[:2], FORMS[2:]):
        procs = {form: build_form(form, roots[form]) for form in pair}
        done.update({form: (roots[form], result(p)) for form, p in procs.items()})
    return done


# -- the module is a function of the canonical form ------------------------------------------


def test_every_form_of_every_bundled_system_prints_one_module() -> None:
    # Each form in a process of its own: nothing shared but the canonical form.
    code = """
        import json, sys
        from codegen_forms import SPECS, in_form
        from cubie_hash.codegen import Variant, generate_source
        from cubie_hash.ode import parse_equations
        out = {}
        for name, spec in SPECS.items():
            p = parse_equations(**in_form(spec, sys.argv[1]))
            out[name] = [p.fn_hash] + [generate_source(p, Variant(t, "float64"))
                                       for t in ("cpu", "cuda")]
        print(json.dumps(out))
        """
    procs = {}
    for form in FORMS:
        procs[form] = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), form],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=TESTS,
        )
    by_form = {form: result(p) for form, p in procs.items()}
    other = set()
    for name in SPECS:
        text_hash, *text_modules = by_form["text"][name]
        for form in FORMS:
            fn_hash, *modules = by_form[form][name]
            if fn_hash != text_hash:
                other.add((name, form))
                continue
            assert modules == text_modules, (name, form)
            assert f"FN_HASH = '{fn_hash}'" in modules[0] or len(fn_hash) != 64
    assert other == OTHER_SYSTEM


def test_built_entries_are_byte_identical_and_integrate_to_the_same_bits(
    built: dict[str, tuple[Path, Any]],
) -> None:
    text_root, text = built["text"]
    for form, (root, results) in built.items():
        for name in INTEGRATED:
            fn_hash, kind, final = results[name]
            if (name, form) in OTHER_SYSTEM:
                assert fn_hash != text[name][0]
                continue
            assert kind == "miss"  # every form compiled its own entry, in its own root
            assert fn_hash == text[name][0], (name, form)
            module = f"entries/{fn_hash}/cpu_float64.py"
            assert (root / module).read_bytes() == (text_root / module).read_bytes()
            # Bitwise: the same doubles, not merely close ones.
            assert np.array(final).tobytes() == np.array(text[name][2]).tobytes(), (name, form)


def test_cuda_kernel_from_another_form_equals_the_cpu(
    built: dict[str, tuple[Path, Any]], tmp_path: Path
) -> None:
    _, text = built["text"]
    cuda = result(build_form("importer", tmp_path / "cuda", variant="cuda"))
    for name in INTEGRATED:
        fn_hash, kind, final = cuda[name]
        assert (fn_hash, kind) == (text[name][0], "miss")
        # The simulator runs the same formulas in Python on NumPy doubles: the same bits.
        np.testing.assert_array_equal(np.array(final), np.array(text[name][2]))


# -- common subexpressions -------------------------------------------------------------------


def compiled(source: str, name: str) -> Any:
    """Execute a module without Numba's on-disk cache (it has no file to sit next to)."""
    namespace: dict[str, Any] = {"__name__": name}
    uncached = source.replace(", cache=True", "").replace("(cache=True)", "()")
    exec(compile(uncached, name, "exec"), namespace)
    return namespace


def test_cse_computes_the_same_bits_as_inline_code() -> None:
    spec = generated(40)
    parsed = parse_equations(**spec)
    shared = generate_source(parsed, Variant())
    inline = generate_source(parsed, Variant(), cse=False)
    assert "_c0 = " in shared and "_c0" not in inline
    a, b = compiled(shared, "with_cse"), compiled(inline, "without_cse")
    y0, params, drivers = inputs(spec, 16)
    runs = []
    for module in (a, b):
        out = np.empty_like(y0)
        module["integrate_batch"](y0, params, drivers, 0.0, 1e-3, 200, out)
        runs.append(out)
    assert runs[0].tobytes() == runs[1].tobytes()


def test_a_guarded_division_is_never_hoisted_out_of_its_branch() -> None:
    # 1/x is computed only where x != 0: hoisting it would raise ZeroDivisionError at x == 0.
    spec = {
        "dxdt": ["dx = 1/x if x > 0 else 0.0", "dy = 2/x if x > 0 else 1/x + 3 if x < 0 else y"],
        "states": ["x", "y"],
    }
    source = generate_source(parse_equations(**spec), Variant())
    module = compiled(source, "guarded")
    out = np.empty(2)
    module["dxdt"](np.array([0.0, 5.0]), np.empty(0), np.empty(0), 0.0, out)
    assert out.tolist() == [0.0, 5.0]


# -- numbers ---------------------------------------------------------------------------------


def test_large_and_odd_numbers_compile_to_correctly_rounded_values() -> None:
    spec = {
        "dxdt": [
            "dx = 6.022*10**23*x",
            "dy = 10**10**10*y",
            "dz = 2/3 + 10**-400*z",
            "dw = (1.1)**100*w + 10**400*0.0",
        ],
        "states": ["x", "y", "z", "w"],
    }
    source = generate_source(parse_equations(**spec), Variant())
    assert "10000000000" not in source  # no int literal Numba cannot type, none to wrap
    out = np.empty(4)
    compiled(source, "numbers")["dxdt"](
        np.array([3.0, 2.0, 5.0, 1.0]), np.empty(0), np.empty(0), 0.0, out
    )
    assert out[0] == float(Fraction(6.022) * 10**23) * 3.0
    assert out[1] == np.inf
    assert out[2] == float(Fraction(2, 3))
    assert out[3] == float(Fraction(1.1) ** 100)


def test_what_numba_cannot_compute_names_the_equation() -> None:
    x = sympy.Symbol("x")
    for rhs in (sympy.I * x, sympy.zoo * x + 1):
        parsed = parse_equations([sympy.Eq(sympy.Symbol("dx"), rhs)], states=["x"])
        with pytest.raises(EquationError, match="equation for dx: cannot generate code"):
            generate_source(parsed, Variant())


# -- the generator version -------------------------------------------------------------------


def test_an_entry_of_another_generator_version_is_rebuilt(tmp_path: Path) -> None:
    parsed = parse_equations(["dx = -k*x"], states=["x"], parameters=["k"])
    cache = CodegenCache(tmp_path / "cache")
    first = cache.load(parsed)
    entry = cache.entry_dir(parsed.fn_hash)
    meta_path = entry / "cpu-float64.json"
    meta = unseal(meta_path.read_bytes())
    assert isinstance(meta, dict) and meta["identity"]["generator"] == GENERATOR_VERSION
    module = (entry / "cpu_float64.py").read_text()
    assert f"\nGENERATOR_VERSION = {GENERATOR_VERSION}\n" in module
    assert first.module.GENERATOR_VERSION == GENERATOR_VERSION
    # What an older cubie_hash would have written: a consistent, sealed entry of version N-1.
    meta["identity"]["generator"] = GENERATOR_VERSION - 1
    meta_path.write_bytes(seal(meta))
    with pytest.warns(CacheWarning, match="another identity"):
        again = CodegenCache(cache.root).load(parsed)
    assert again.event.kind == "miss" and "'generator'" in again.event.reason
    rebuilt = unseal(meta_path.read_bytes())
    assert isinstance(rebuilt, dict) and rebuilt["identity"]["generator"] == GENERATOR_VERSION


def test_long_and_deep_expressions_give_a_module_python_compiles() -> None:
    # CPython refuses 200 nested brackets and runs out of recursion compiling a chain of a few
    # thousand operators: the emitter splits both into temporaries, left to right.
    p = sympy.symbols("p0:3000")
    x, y, z = sympy.symbols("x y z")
    deep: Any = x
    # 150 levels: parse_equations' str() of a SymPy tree gives out not far beyond.
    for _ in range(150):
        deep = sympy.sin(deep)
    eqs = [
        (sympy.Symbol("dx"), sympy.Add(*p, evaluate=False)),
        (sympy.Symbol("dy"), sympy.Mul(*p[:900], evaluate=False)),
        (sympy.Symbol("dz"), deep),
    ]
    parsed = parse_equations(eqs, states=["x", "y", "z"], parameters=[s.name for s in p])
    source = generate_source(parsed, Variant())
    compile(source, "long_and_deep", "exec")
    assert source.count("math.sin(") == 150
