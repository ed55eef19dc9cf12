"""Generate the Python source of a Numba module for one parsed ODE system.

The source is printed in Rust (``rust/ode/emit/``) from the system's canonical form — the
form its ``fn_hash`` is the digest of — never from the SymPy trees it came in as, so a module is
a pure function of (canonical system, variant, generator version).

One template, two targets.  The right-hand side ``dxdt(state, parameters, drivers, t, out)``,
``observables(...)`` and the fixed-step RK4 loop are the same text for both; only the
decorators and the batch driver differ: an ``njit`` loop over systems on the CPU, a CUDA kernel
with one thread per system on the GPU.  Every compiled entry point has an explicit signature
and ``cache=True``, so Numba compiles at import and writes its machine code next to the module,
and a second process loads it instead of compiling.

Constants are embedded as literals; assignments are computed in the dependency order of their
canonical right-hand sides (ties by name); identical subexpressions are computed once, into
``_c0``, ``_c1``, …; Piecewise becomes ``a if c else b``.  See ``docs/canonical-format.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cubie_hash import _core
from cubie_hash.errors import CacheError

__all__ = ["GENERATOR_VERSION", "PRECISIONS", "TARGETS", "SystemLike", "Variant", "generate_source"]

TARGETS = ("cpu", "cuda")
PRECISIONS = ("float64", "float32")
#: Version of the printed code; recorded in every cache entry, which is rebuilt when it differs.
GENERATOR_VERSION: int = _core.ODE_GENERATOR_VERSION


class SystemLike(Protocol):
    """What code generation reads from a ``ParsedEquations`` (read-only)."""

    @property
    def canonical(self) -> _core.CanonicalSystem | None: ...
    @property
    def states(self) -> Sequence[str]: ...
    @property
    def parameters(self) -> Sequence[str]: ...
    @property
    def drivers(self) -> Sequence[str]: ...
    @property
    def observable_names(self) -> Sequence[str]: ...
    @property
    def constants(self) -> Mapping[str, Any]: ...
    @property
    def fn_hash(self) -> str: ...


@dataclass(frozen=True)
class Variant:
    """What is compiled: the target and the floating-point precision (both in the cache key).

    Example:
        >>> Variant("cpu", "float32").name
        'cpu-float32'
    """

    target: str = "cpu"
    precision: str = "float64"

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise CacheError(f"target must be one of {TARGETS}, got {self.target!r}")
        if self.precision not in PRECISIONS:
            raise CacheError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")

    @property
    def name(self) -> str:
        return f"{self.target}-{self.precision}"


def generate_source(system: SystemLike, variant: Variant, *, cse: bool = True) -> str:
    """Python source of the Numba module for ``system`` compiled as ``variant``.

    Printed in Rust from ``system.canonical``, the canonical form ``system.fn_hash`` is the
    digest of, so every input form of one system (text, importer trees, evaluated SymPy) gives
    the same module byte for byte, whatever cubie_hash release printed it, as long as
    ``GENERATOR_VERSION`` is the same.
    ``cse=False`` prints every expression inline: the same values, a longer module.

    Raises:
        EquationError: an equation uses an undeclared symbol or a construct Numba cannot
            compile; the message names the equation.
        CacheError: ``system`` carries no canonical form (it was not made by
            ``parse_equations``).

    Example:
        >>> from cubie_hash.ode import parse_equations
        >>> sys = parse_equations(["dx = -k*x"], states=["x"], parameters=["k"])
        >>> print(generate_source(sys, Variant("cpu", "float64")).split("out):")[1][:83])
        <BLANKLINE>
            v_x = state[0]
            v_k = parameters[0]
            v_dx = -(v_k*v_x)
            out[0] = v_dx
    """
    canonical = system.canonical
    if canonical is None:
        raise CacheError(
            f"system {system.fn_hash or '(no hash)'} has no canonical form: build it with "
            "cubie_hash.ode.parse_equations"
        )
    return _core.ode_generate_source(canonical, variant.target, variant.precision, cse=cse)
