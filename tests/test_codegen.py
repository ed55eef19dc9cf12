"""Code generation and its cache, with real Numba compiles (CPU) and real second processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy
from cubie_hash import CacheError, EquationError
from cubie_hash.codegen import CacheWarning, CodegenCache, Variant, generate_source, load_system
from cubie_hash.ode import parse_equations

LORENZ: dict[str, Any] = {
    "dxdt": ["dx = sigma*(y - x)", "dy = x*(rho - z) - y", "dz = x*y - beta*z", "e = x**2 + y**2"],
    "states": {"x": 1.0, "y": 1.0, "z": 1.0},
    "parameters": {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0},
    "observables": ["e"],
}
LORENZ_PARAMS = np.array([10.0, 28.0, 8.0 / 3.0])


def lorenz_numpy(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The Lorenz right-hand side written out by hand in NumPy: the independent reference."""
    x, yy, z = y
    sigma, rho, beta = p
    return np.array([sigma * (yy - x), x * (rho - z) - yy, x * yy - beta * z])


AUX_SYSTEM: dict[str, Any] = {
    # Auxiliaries in a shuffled order, a constant, a driver, a Piecewise and maths functions.
    "dxdt": [
        "dv = (flow - v / tau) * gain",
        "flow = pressure if pressure > 0 else 0.1 * pressure",
        "pressure = amp * sin(omega * t) + drive - exp(-v) + sqrt(abs(v) + 1)",
        "dw = -w + Max(v, 0)",
    ],
    "states": ["v", "w"],
    "parameters": ["tau", "gain", "amp"],
    "constants": {"omega": 2.5},
    "drivers": ["drive"],
}


def aux_numpy(y: np.ndarray, p: np.ndarray, d: np.ndarray, t: float) -> np.ndarray:
    v, w = y
    tau, gain, amp = p
    pressure = amp * np.sin(2.5 * t) + d[0] - np.exp(-v) + np.sqrt(abs(v) + 1)
    flow = pressure if pressure > 0 else 0.1 * pressure
    return np.array([(flow - v / tau) * gain, -w + max(v, 0.0)])


@pytest.fixture
def cache(tmp_path: Path) -> CodegenCache:
    root = tmp_path / "cache"
    return CodegenCache(root)


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


# -- generated numerics ------------------------------------------------------------------------


def test_dxdt_matches_numpy_on_random_points(cache: CodegenCache) -> None:
    system = cache.load(parse_equations(**LORENZ))
    rng = np.random.default_rng(1)
    out = np.empty(3)
    for _ in range(50):
        y = rng.normal(0, 10, 3)
        p = rng.uniform(0.5, 30, 3)
        system.dxdt(y, p, np.empty(0), 0.0, out)
        np.testing.assert_allclose(out, lorenz_numpy(y, p), rtol=1e-13, atol=1e-12)
        obs = np.empty(1)
        system.observables(y, p, np.empty(0), 0.0, obs)
        assert obs[0] == pytest.approx(y[0] ** 2 + y[1] ** 2, rel=1e-14)


def test_auxiliaries_constants_drivers_piecewise(cache: CodegenCache) -> None:
    system = cache.load(parse_equations(**AUX_SYSTEM))
    assert system.states == ("v", "w") and system.drivers == ("drive",)
    rng = np.random.default_rng(2)
    out = np.empty(2)
    for _ in range(50):
        y, p = rng.normal(0, 2, 2), rng.uniform(0.5, 3, 3)
        d, t = rng.normal(0, 2, 1), float(rng.uniform(0, 10))
        system.dxdt(y, p, d, t, out)
        np.testing.assert_allclose(out, aux_numpy(y, p, d, t), rtol=1e-12, atol=1e-12)


def test_rk4_batch_matches_solve_ivp(cache: CodegenCache) -> None:
    from scipy.integrate import solve_ivp

    system = load_system(**LORENZ, cache=cache)
    y0 = np.array([[1.0, 1.0, 1.0], [-3.0, 2.0, 20.0], [0.5, -0.5, 10.0]])
    params = np.array([LORENZ_PARAMS, [10.0, 15.0, 2.0], [9.0, 28.0, 8.0 / 3.0]])
    final = system.integrate(y0, params, dt=1e-3, n_steps=1000)  # t = 0 .. 1
    for row in range(3):
        ref = solve_ivp(
            lambda t, y, p=params[row]: lorenz_numpy(y, p),
            (0.0, 1.0),
            y0[row],
            method="DOP853",
            rtol=1e-12,
            atol=1e-12,
        )
        # RK4 with dt = 1e-3 has a global error of order dt^4 ~ 1e-12 per unit time times the
        # Lorenz growth rate; 1e-7 relative is a comfortable, still meaningful bound.
        np.testing.assert_allclose(final[row], ref.y[:, -1], rtol=1e-7, atol=1e-7)


def test_float32_is_its_own_variant(cache: CodegenCache) -> None:
    parsed = parse_equations(**LORENZ)
    f64 = cache.load(parsed, Variant("cpu", "float64"))
    f32 = cache.load(parsed, Variant("cpu", "float32"))
    assert f64.event.kind == f32.event.kind == "miss"
    y0 = np.array([[1.0, 1.0, 1.0]])
    a = f64.integrate(y0, LORENZ_PARAMS, dt=1e-3, n_steps=200)
    b = f32.integrate(y0, LORENZ_PARAMS, dt=1e-3, n_steps=200)
    assert a.dtype == np.float64 and b.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=1e-4)
    assert {e.variant for e in cache.entries()} == {"cpu-float64", "cpu-float32"}


def test_unsupported_function_names_the_equation() -> None:
    # Whether the parser or the code printer refuses it, the error names the equation.
    x = sympy.Symbol("x")
    with pytest.raises(EquationError, match="dx"):
        parsed = parse_equations([sympy.Eq(sympy.Symbol("dx"), sympy.besselj(0, x))], states=["x"])
        generate_source(parsed, Variant())


# -- the cache ---------------------------------------------------------------------------------


def test_second_load_in_process_and_on_disk_hits(cache: CodegenCache) -> None:
    parsed = parse_equations(**LORENZ)
    first = cache.load(parsed)
    assert (first.event.kind, first.event.generated) == ("miss", True)
    assert cache.load(parsed).event.kind == "hit"
    again = CodegenCache(cache.root).load(parsed)
    assert again.event.kind == "hit" and not again.event.generated


def test_second_process_loads_without_parsing_or_compiling(cache: CodegenCache) -> None:
    first = load_system(**LORENZ, cache=cache)
    assert first.event.kind == "miss" and first.event.parsed
    out = run_python(
        f"""
        import json, sys
        from cubie_hash.codegen import CodegenCache, load_system
        spec = json.loads({json.dumps(json.dumps(LORENZ))})
        system = load_system(**spec, cache=CodegenCache({str(cache.root)!r}))
        print(system.event.to_json())
        print(json.dumps(["sympy" in sys.modules]))
        """
    )
    event, sympy_loaded = (json.loads(line) for line in out.splitlines()[-2:])
    assert event["kind"] == "hit" and event["fn_hash"] == first.fn_hash
    assert not event["parsed"] and not event["generated"]
    assert "prehash index" in event["reason"]
    assert sympy_loaded == [False]
    # Numba loaded machine code from the entry's own cache instead of compiling.
    nbi = list((cache.entry_dir(first.fn_hash) / "__pycache__").glob("*.nbi"))
    assert nbi


def test_another_raw_form_of_the_same_system_reuses_the_entry(cache: CodegenCache) -> None:
    first = load_system(**LORENZ, cache=cache)
    # Line order and whitespace are already folded by the prehash: the same index record hits.
    shuffled = dict(LORENZ, dxdt="\n".join(reversed(LORENZ["dxdt"])) + "\n\n")
    same_raw = load_system(**shuffled, cache=cache)
    assert same_raw.fn_hash == first.fn_hash and not same_raw.event.parsed
    # Commuted factors are a different raw text: parsed, then found under the same fn_hash.
    commuted = dict(LORENZ, dxdt=["dx = (y - x)*sigma", *LORENZ["dxdt"][1:]])
    second = load_system(**commuted, cache=cache)
    assert second.fn_hash == first.fn_hash
    assert second.event.kind == "hit" and second.event.parsed and not second.event.generated


def test_an_iterator_of_lines_is_read_once_for_the_key_and_the_parse(cache: CodegenCache) -> None:
    # The prehash and the parse both read the equations: an iterator must not be used up by the
    # first, leaving the parse an empty system (or the key the hash of no text at all).
    first = load_system(**dict(LORENZ, dxdt=iter(LORENZ["dxdt"])), cache=cache)
    assert first.fn_hash == parse_equations(**LORENZ).fn_hash
    again = load_system(**dict(LORENZ, dxdt=iter(LORENZ["dxdt"])), cache=cache)
    assert again.fn_hash == first.fn_hash and not again.event.parsed
    other = dict(LORENZ, dxdt=iter(["dx = -x", "dy = -y", "dz = -z", "e = x"]))
    assert load_system(**other, cache=cache).fn_hash != first.fn_hash


def test_sympy_input_has_no_prehash_but_the_same_entry(cache: CodegenCache) -> None:
    first = load_system(**LORENZ, cache=cache)
    x, y, z, sigma, rho, beta = sympy.symbols("x y z sigma rho beta")
    eqs = [
        sympy.Eq(sympy.Symbol("dx"), sigma * (y - x)),
        sympy.Eq(sympy.Symbol("dy"), x * (rho - z) - y),
        sympy.Eq(sympy.Symbol("dz"), x * y - beta * z),
        sympy.Eq(sympy.Symbol("e"), x**2 + y**2),
    ]
    second = load_system(**dict(LORENZ, dxdt=eqs), cache=cache)
    assert second.fn_hash == first.fn_hash
    assert second.event.kind == "hit" and second.event.parsed


def test_sixteen_processes_build_once(cache: CodegenCache) -> None:
    code = textwrap.dedent(
        f"""
        import json
        import numpy as np
        from cubie_hash.codegen import CodegenCache, load_system
        spec = json.loads({json.dumps(json.dumps(LORENZ))})
        system = load_system(**spec, cache=CodegenCache({str(cache.root)!r}))
        final = system.integrate(np.ones((2, 3)), [10.0, 28.0, 8.0 / 3.0], dt=1e-3, n_steps=500)
        print(json.dumps([system.event.kind, system.fn_hash, final.tolist()]))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(16)
    ]
    results = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0
        results.append(json.loads(stdout.splitlines()[-1]))
    kinds = [kind for kind, _, _ in results]
    assert kinds.count("miss") == 1, kinds
    fn_hash = results[0][1]
    log = (cache.entry_dir(fn_hash) / "generations.log").read_text().splitlines()
    assert len(log) == 1, log
    reference = load_system(**LORENZ, cache=cache).integrate(
        np.ones((2, 3)), LORENZ_PARAMS, dt=1e-3, n_steps=500
    )
    for _, h, final in results:
        assert h == fn_hash
        np.testing.assert_array_equal(np.array(final), reference)


def _entry_files(cache: CodegenCache, fn_hash: str) -> tuple[Path, Path]:
    entry = cache.entry_dir(fn_hash)
    return entry / "cpu_float64.py", entry / "cpu-float64.json"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda m, j: m.write_text(m.read_text() + "\nimport os\n"), id="tampered"),
        pytest.param(lambda m, j: m.write_bytes(m.read_bytes()[:200]), id="truncated-module"),
        pytest.param(lambda m, j: j.write_text('{"format": 1, "fn_ha'), id="corrupt-metadata"),
        pytest.param(lambda m, j: m.unlink(), id="missing-module"),
    ],
)
def test_damaged_entries_are_rebuilt_never_executed(cache: CodegenCache, damage: Any) -> None:
    parsed = parse_equations(**LORENZ)
    cache.load(parsed)
    module, meta = _entry_files(cache, parsed.fn_hash)
    damage(module, meta)
    fresh = CodegenCache(cache.root)
    with pytest.warns(CacheWarning, match=parsed.fn_hash[:12]):
        rebuilt = fresh.load(parsed)
    assert rebuilt.event.kind == "miss" and rebuilt.event.generated
    assert "import os" not in module.read_text()
    out = rebuilt.integrate(np.ones((1, 3)), LORENZ_PARAMS, dt=1e-3, n_steps=10)
    assert np.all(np.isfinite(out))
    assert len((cache.entry_dir(parsed.fn_hash) / "generations.log").read_text().splitlines()) == 2


def test_shared_writable_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o777)
    with pytest.raises(CacheError, match="writable by other users"):
        CodegenCache(root)
    assert CodegenCache(root, allow_shared=True).root == root


def test_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUBIE_HASH_CACHE_DIR", str(tmp_path / "env-cache"))
    assert CodegenCache().root == tmp_path / "env-cache"


def test_explain_miss_shows_the_changed_equation(cache: CodegenCache) -> None:
    cache.load(parse_equations(**LORENZ))
    changed = parse_equations(**dict(LORENZ, dxdt=["dx = sigma*(y - 2*x)", *LORENZ["dxdt"][1:]]))
    report = cache.explain_miss(changed)
    assert report.startswith("nearest entry")
    assert any(line.startswith("-") and "dx" in line for line in report.splitlines()[3:])
    assert any(line.startswith("+") and "dx" in line for line in report.splitlines()[3:])


def test_prune_and_clear(cache: CodegenCache) -> None:
    parsed = parse_equations(**LORENZ)
    cache.load(parsed)
    assert cache.prune(older_than_days=1) == []
    old = cache.entry_dir(parsed.fn_hash)
    os.utime(old, (0, 0))
    assert cache.prune(older_than_days=1) == [parsed.fn_hash]
    assert not old.exists() and cache.entries() == []
    cache.load(parsed)
    assert cache.clear() == 1 and cache.entries() == []


def test_bad_arguments_are_cache_errors_naming_the_problem(cache: CodegenCache) -> None:
    with pytest.raises(CacheError, match="target must be one of"):
        load_system(**LORENZ, target="opencl", cache=cache)
    with pytest.raises(CacheError, match="precision must be one of"):
        Variant("cpu", "float16")
    system = cache.load(parse_equations(**LORENZ))
    with pytest.raises(CacheError, match=r"y0 has shape \(1, 2\)"):
        system.integrate(np.ones((1, 2)), LORENZ_PARAMS, dt=0.1, n_steps=1)
    with pytest.raises(CacheError, match="parameters of shape"):
        system.integrate(np.ones((4, 3)), np.ones((3, 3)), dt=0.1, n_steps=1)


def test_bad_hash_is_refused(cache: CodegenCache) -> None:
    with pytest.raises(CacheError, match="not a system hash"):
        cache.entry_dir("../../etc")


# -- CUDA: the simulator where no GPU is present ---------------------------------------------


def test_cuda_kernel_matches_cpu_under_the_simulator(cache: CodegenCache) -> None:
    cpu = cache.load(parse_equations(**LORENZ))
    y0 = np.random.default_rng(3).normal(1, 0.1, (40, 3))
    expected = cpu.integrate(y0, LORENZ_PARAMS, dt=1e-3, n_steps=50)
    out = run_python(
        f"""
        import json
        import numpy as np
        from cubie_hash.codegen import CodegenCache, Variant
        from cubie_hash.ode import parse_equations
        spec = json.loads({json.dumps(json.dumps(LORENZ))})
        system = CodegenCache({str(cache.root)!r}).load(
            parse_equations(**spec), Variant("cuda", "float64"))
        y0 = np.array({y0.tolist()!r})
        final = system.integrate(y0, [10.0, 28.0, 8.0 / 3.0], dt=1e-3, n_steps=50,
                                 threads_per_block=16)
        print(json.dumps([system.event.kind, final.tolist()]))
        """,
        env={"NUMBA_ENABLE_CUDASIM": "1"},
    )
    kind, final = json.loads(out.splitlines()[-1])
    assert kind == "miss"
    np.testing.assert_allclose(np.array(final), expected, rtol=1e-12, atol=1e-12)


# -- command line ------------------------------------------------------------------------------


def test_cache_cli(cache: CodegenCache) -> None:
    parsed = parse_equations(**LORENZ)
    cache.load(parsed)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cubie_hash.cli", "cache", "--root", str(cache.root), *args],
            capture_output=True,
            text=True,
        )

    ls = cli("ls")
    assert ls.returncode == 0 and parsed.fn_hash[:16] in ls.stdout and "cpu-float64" in ls.stdout
    info = cli("info", parsed.fn_hash[:8])
    assert info.returncode == 0 and '"source_blake3"' in info.stdout
    missing = cli("info", "0000000")
    assert missing.returncode == 2 and "no cache entry" in missing.stderr
    assert cli("prune", "--older-than", "30").returncode == 0
    assert cache.entries()
    assert cli("clear").returncode == 0
    assert cache.entries() == []


def test_demo_runs_cold_then_warm(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cubie_hash.cli",
            "demo",
            "--systems",
            "8",
            "--steps",
            "20",
            "--cache",
            str(tmp_path / "demo-cache"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    rows = [
        line.split() for line in out.stdout.splitlines() if line.startswith(("lorenz", "three"))
    ]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("lorenz", "first", "miss", "True"),
        ("lorenz", "second", "hit", "False"),
        ("three_chamber", "first", "miss", "True"),
        ("three_chamber", "second", "hit", "False"),
    ]
    assert out.stdout.count("results identical") == 2
