"""Write tests/golden/ode_systems.json: inputs and expected hashes of the canonical ODE form.

Run only when the canonical format version is bumped on purpose; the test suite checks every
vector against the checked-in file, so an accidental change of any hash fails CI.

    python tests/golden/make_ode_golden.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cubie_hash import _core
from cubie_hash.ode import parse_equations
from cubie_hash.ode.examples import EXAMPLES, generated, lorenz


def systems() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {name: make() for name, make in EXAMPLES.items()}
    out["generated_1000"] = {"generated": 1000}
    out["decay"] = {"dxdt": "dx = -k*x", "states": ["x"], "parameters": ["k"]}
    out["van_der_pol"] = {
        "dxdt": ["dx = y", "dy = mu*(1 - x**2)*y - x"],
        "states": {"x": 2.0, "y": 0.0},
        "parameters": {"mu": 1.0},
    }
    out["fitzhugh_nagumo"] = {
        "dxdt": "dv = v - v**3/3 - w + I_ext\ndw = (v + a - b*w)/tau\n",
        "states": ["v", "w"],
        "parameters": ["a", "b"],
        "constants": {"tau": 12.5},
        "drivers": ["I_ext"],
    }
    out["brusselator"] = {
        "dxdt": "dX = A + X**2*Y - (B + 1)*X\ndY = B*X - X**2*Y\n",
        "states": ["X", "Y"],
        "constants": {"A": 1, "B": 3},
    }
    out["printed_forms"] = {
        "dxdt": (
            "g = Piecewise((a, x > 0), (b, True)) + Max(x, 0) - Min(a, b)\n"
            "h = Abs(x)*sign(x) + (1/3)*E*I*N*S*Q*O + pi*gamma(x) if Eq(x, a) else 0\n"
            "dx = g + h\n"
        ),
        "states": ["x"],
        "parameters": ["a", "b", "E", "I", "N", "S", "Q", "O", "pi"],
        "observables": ["g"],
    }
    rho = lorenz()
    rho["constants"] = {"rho": 29.0}
    out["lorenz_rho_29"] = rho
    swapped = lorenz()
    swapped["states"] = {"y": 1.0, "x": 1.0, "z": 1.0}
    out["lorenz_states_swapped"] = swapped
    return out


def inputs(spec: dict[str, Any]) -> dict[str, Any]:
    """parse_equations keyword arguments for a stored spec."""
    return generated(spec["generated"]) if "generated" in spec else dict(spec)


def main() -> None:
    vectors = []
    for name, spec in systems().items():
        kwargs = inputs(spec)
        hashes = {
            alg: parse_equations(**kwargs, algorithm=alg).fn_hash for alg in ("md5", "sha256")
        }
        parsed = parse_equations(**kwargs)
        vectors.append(
            {
                "name": name,
                "input": spec,
                "blake3": parsed.fn_hash,
                **hashes,
                "prehash": parsed.prehash,
            }
        )
    doc = {
        "format_version": _core.ODE_FORMAT_VERSION,
        "prehash_version": _core.ODE_PREHASH_VERSION,
        "vectors": vectors,
    }
    path = Path(__file__).with_name("ode_systems.json")
    path.write_text(json.dumps(doc, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
