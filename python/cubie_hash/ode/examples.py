"""Example systems, as keyword arguments for :func:`~cubie_hash.ode.parse_equations`.

Used by the tests (golden vectors), the benchmarks and the README; the codegen cache can use
them too.  Every function returns a fresh dict, so callers may modify it.

Example:
    >>> from cubie_hash.ode import parse_equations
    >>> from cubie_hash.ode.examples import lorenz
    >>> parse_equations(**lorenz()).states
    ('x', 'y', 'z')
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "EXAMPLES",
    "generated",
    "hodgkin_huxley",
    "lorenz",
    "lotka_volterra",
    "sir",
    "three_chamber",
]


def lorenz() -> dict[str, Any]:
    """The Lorenz system, with ``rho`` a constant and ``beta`` an ordinary symbol."""
    return {
        "dxdt": "dx = sigma*(y - x)\ndy = x*(rho - z) - y\ndz = x*y - beta*z\n",
        "states": {"x": 1.0, "y": 1.0, "z": 1.0},
        "parameters": {"sigma": 10.0, "beta": 8.0 / 3.0},
        "constants": {"rho": 28.0},
    }


def three_chamber() -> dict[str, Any]:
    """A three-chamber cardiovascular model: valves as ``a if c else b``, a driven heart."""
    return {
        "dxdt": (
            "P_a = E_a*V_a\n"
            "P_v = E_v*V_v\n"
            "P_h = E_h*V_h*e_t\n"
            "Q_i = (P_v - P_h)/R_i if P_v > P_h else 0\n"
            "Q_o = (P_h - P_a)/R_o if P_h > P_a else 0\n"
            "Q_c = (P_a - P_v)/R_c\n"
            "dV_h = Q_i - Q_o\n"
            "dV_a = Q_o - Q_c\n"
            "dV_v = Q_c - Q_i\n"
        ),
        "states": {"V_h": 1.0, "V_a": 1.0, "V_v": 1.0},
        "parameters": {"E_h": 0.52, "E_a": 0.0133, "E_v": 0.0624, "R_i": 0.012, "R_o": 1.0},
        "constants": {"R_c": 1.0 / 114.0},
        "observables": ["P_a", "P_v", "P_h", "Q_i", "Q_o", "Q_c"],
        "drivers": ["e_t"],
    }


def lotka_volterra() -> dict[str, Any]:
    """Predator and prey; ``beta``, ``gamma`` are parameters, not SymPy functions."""
    return {
        "dxdt": ["dx = alpha*x - beta*x*y", "dy = delta*x*y - gamma*y"],
        "states": ["x", "y"],
        "parameters": {"alpha": 1.1, "beta": 0.4, "delta": 0.1, "gamma": 0.4},
    }


def sir() -> dict[str, Any]:
    """SIR epidemic: ``S``, ``I``, ``N`` are symbols (SymPy would read S, I, N as objects)."""
    return {
        "dxdt": "N = S + I + R\ndS = -beta*S*I/N\ndI = beta*S*I/N - gamma*I\ndR = gamma*I\n",
        "states": ["S", "I", "R"],
        "parameters": ["beta", "gamma"],
        "observables": ["N"],
    }


def hodgkin_huxley() -> dict[str, Any]:
    """The Hodgkin-Huxley squid axon (1952), with an injected current as a driver."""
    return {
        "dxdt": (
            "alpha_m = 0.1*(V + 40.0)/(1.0 - exp(-(V + 40.0)/10.0))\n"
            "beta_m = 4.0*exp(-(V + 65.0)/18.0)\n"
            "alpha_h = 0.07*exp(-(V + 65.0)/20.0)\n"
            "beta_h = 1.0/(1.0 + exp(-(V + 35.0)/10.0))\n"
            "alpha_n = 0.01*(V + 55.0)/(1.0 - exp(-(V + 55.0)/10.0))\n"
            "beta_n = 0.125*exp(-(V + 65)/80.0)\n"
            "I_Na = g_Na*m**3*h*(V - E_Na)\n"
            "I_K = g_K*n**4*(V - E_K)\n"
            "I_L = g_L*(V - E_L)\n"
            "dV = (I_ext - I_Na - I_K - I_L)/C_m\n"
            "dm = alpha_m*(1 - m) - beta_m*m\n"
            "dh = alpha_h*(1 - h) - beta_h*h\n"
            "dn = alpha_n*(1 - n) - beta_n*n\n"
        ),
        "states": {"V": -65.0, "m": 0.05, "h": 0.6, "n": 0.32},
        "parameters": {"g_Na": 120.0, "g_K": 36.0, "g_L": 0.3},
        "constants": {"C_m": 1.0, "E_Na": 50.0, "E_K": -77.0, "E_L": -54.387},
        "drivers": ["I_ext"],
    }


def generated(n_equations: int) -> dict[str, Any]:
    """A deterministic synthetic system of ``n_equations`` equations (half of them states).

    Coefficients come from integer arithmetic, not a random generator, so the text is the
    same on every machine; terms mix floats, rationals, powers, exp and ``a if c else b``.
    """
    k = max(1, n_equations // 2)
    lines = []
    for i in range(k):
        j, m = (i + 1) % k, (i * 7 + 3) % k
        c = (i * 37 % 101) / 8 + 0.1
        p = f"p{i % 10}"
        if i % 5 == 0:
            aux = f"a{i} = {c}*x{i} - x{j}*{p} if x{m} > {p} else exp(-x{m}/{i % 3 + 2})"
        else:
            aux = f"a{i} = {c}*(x{i} - x{j})/{p} + x{m}**2/{i % 4 + 3}"
        lines.append(aux)
        lines.append(f"dx{i} = -{p}*a{i} + 0.5*(x{j} - x{i})")
    if n_equations % 2 and n_equations > 1:
        lines.append(f"o0 = x0 + a{k - 1}")
    return {
        "dxdt": "\n".join(lines[:n_equations]) + "\n",
        "states": [f"x{i}" for i in range(k)],
        "parameters": [f"p{i}" for i in range(min(10, k))],
        "observables": ["o0"] if n_equations % 2 and n_equations > 1 else [],
    }


#: The named example systems.
EXAMPLES = {
    "lorenz": lorenz,
    "three_chamber": three_chamber,
    "lotka_volterra": lotka_volterra,
    "sir": sir,
    "hodgkin_huxley": hodgkin_huxley,
}
