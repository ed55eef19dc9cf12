"""Type stubs for the compiled core, ``cubie_hash._core`` (built from ``rust/``)."""

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, final

from typing_extensions import Buffer

AlgorithmName = Literal["md5", "sha256", "blake2b", "blake2s", "blake3"]

ALGORITHMS: Final[list[str]]
GIL_RELEASE_BYTES: Final[int]

def digest(data: str | Buffer, algorithm: AlgorithmName = "md5", length: int | None = None) -> str:
    """Hex digest of ``data`` (a str is hashed as UTF-8), cut to ``length`` hex characters."""

def digest_many(
    items: Iterable[str | Buffer], algorithm: AlgorithmName = "md5", length: int | None = None
) -> list[str]:
    """Hex digests of every item, in input order; large batches run in parallel."""

def compute_hash(
    *args: object, length: int = 8, algorithm: AlgorithmName = "md5", canonical: bool = False
) -> str:
    """``':hash=<hex>'`` of the args (str()-ed, leading ':' stripped, joined with '_')."""

def compute_hashes(
    rows: Iterable[Iterable[object]],
    length: int = 8,
    algorithm: AlgorithmName = "md5",
    canonical: bool = False,
) -> list[str]:
    """``compute_hash(*row)`` for every row, in order; large batches run in parallel."""

def parse_identifier(
    identifier: str,
) -> tuple[str, str, list[tuple[str, str]], str, str]:
    """``(name, args, params, seed, data)`` of ``NAME[:k=v+...]_SEED_DATA``."""

def parse_args(args: str) -> list[tuple[str, str]]:
    """The ``(key, value)`` pairs of ``k=v+k=v`` text (leading ':' / '+' skipped)."""

def format_identifier(name: str, params: list[tuple[str, str]], seed: str, data: str) -> str:
    """``NAME[:k=v+...]_SEED_DATA``; refuses parts that would not parse back unchanged."""

def canonical_args(args: str) -> str:
    """``k=v+...`` text with its keys sorted."""

def args_to_flags(args: str) -> list[str]:
    """``['--k', 'v', ...]`` for ``k=v+...`` text."""

ODE_FORMAT_VERSION: Final[int]
ODE_PREHASH_VERSION: Final[int]
ODE_GENERATOR_VERSION: Final[int]
ODE_FUNCTIONS: Final[list[str]]

def ode_hash_system(
    equations: Iterable[Any],
    constants: Mapping[Any, Any] | None,
    states: Iterable[Any],
    parameters: Iterable[Any],
    drivers: Iterable[Any],
    observables: Iterable[Any],
    algorithm: str = "blake3",
) -> str:
    """Hex digest of a system's canonical encoding (``cubie_hash.ode.hash_system_definition``)."""

def ode_canonical_text(
    equations: Iterable[Any],
    constants: Mapping[Any, Any] | None,
    states: Iterable[Any],
    parameters: Iterable[Any],
    drivers: Iterable[Any],
    observables: Iterable[Any],
) -> str:
    """Readable rendering of a system's canonical form (``cubie_hash.ode.canonical_text``)."""

def ode_generate_source(
    system: CanonicalSystem,
    target: str,
    precision: str,
    *,
    cse: bool = True,
) -> str:
    """Numba module printed from the canonical form (``cubie_hash.codegen.generate_source``)."""

def ode_encode_expr(expr: Any) -> bytes:
    """Canonical encoding of one SymPy expression (or Python number)."""

def ode_render_expr(expr: Any) -> str:
    """Readable canonical form of one SymPy expression."""

def ode_prehash(
    lines: list[str],
    states: Iterable[str],
    parameters: Iterable[str],
    drivers: Iterable[str],
    observables: Iterable[str],
    constants: Mapping[str, int | float] | None,
) -> str:
    """BLAKE3 raw-input prehash (``cubie_hash.ode.prehash``)."""

@final
class CanonicalSystem:
    """A checked ODE system in canonical form: what ``fn_hash``, ``canonical_text`` and
    generated code are computed from.

    ``equations`` is a ``str`` (lines of ``lhs = rhs``) or a list of entries: a ``str``
    (lines) or ``(lhs, rhs, label or None)``, ``rhs`` a ``str``, a SymPy expression or a number
    (no label: ``lhs = rhs``).  Text is parsed in Rust (no SymPy), SymPy walked without
    recursion; the whole-system checks run on the names either meets.  Raises
    ``EquationError`` naming the equation (and the column).
    """

    def __new__(
        cls,
        equations: str | list[Any],
        states: Iterable[str],
        parameters: Iterable[str],
        constants: Mapping[str, Any] | None,
        drivers: Iterable[str],
        observables: Iterable[str],
    ) -> CanonicalSystem: ...
    def fn_hash(self, algorithm: str = "blake3") -> str:
        """Hex digest of the canonical encoding."""
    def fn_hash_with(
        self,
        constants: Mapping[Any, Any] | None,
        states: Iterable[Any],
        parameters: Iterable[Any],
        drivers: Iterable[Any],
        observables: Iterable[Any],
        algorithm: str = "blake3",
    ) -> str:
        """The hash of these equations with other constants and layouts."""
    def canonical_text(self) -> str:
        """Readable rendering of the canonical form."""
    def trees(self) -> list[tuple[str, tuple[str, Any]]]:
        """``[(name, canonical tree)]`` of the equations, sorted by name."""
    @property
    def lhs(self) -> list[str]:
        """Left-hand sides, in evaluation order."""
    @property
    def labels(self) -> list[str]:
        """Each equation's label (the line it came from), in evaluation order."""
    @property
    def symbols(self) -> list[list[str]]:
        """The sorted symbol names each right-hand side uses, in evaluation order."""
    @property
    def rhs_texts(self) -> list[str | None]:
        """Each right-hand side's text (None where given as SymPy), in evaluation order."""
    def __len__(self) -> int: ...

def ode_encode_text(text: str) -> bytes:
    """Canonical encoding of one right-hand side given as text (parsed in Rust)."""

def ode_render_text(text: str) -> str:
    """Readable canonical form of one right-hand side given as text."""

def ode_canonical_trees(equations: Iterable[Any]) -> list[tuple[str, tuple[str, Any]]]:
    """``[(name, canonical tree)]`` of (lhs, SymPy rhs) pairs, sorted by name."""

def ode_cubie_hash(
    equations: Iterable[Any],
    derivatives: Any,
    constants: Mapping[Any, Any] | None,
    states: Iterable[Any],
    parameters: Iterable[Any],
    drivers: Iterable[Any],
    observables: Iterable[Any],
    algorithm: str = "blake3",
) -> str:
    """Hex digest of the canonical form of CuBIE IR (lhs, rhs) pairs."""

def ode_cubie_canonical_text(
    equations: Iterable[Any],
    derivatives: Any,
    constants: Mapping[Any, Any] | None,
    states: Iterable[Any],
    parameters: Iterable[Any],
    drivers: Iterable[Any],
    observables: Iterable[Any],
) -> str:
    """Readable canonical form of CuBIE IR (lhs, rhs) pairs."""

def ode_cubie_trees(
    equations: Iterable[Any], derivatives: Any
) -> list[tuple[str, tuple[str, Any]]]:
    """``[(name, canonical tree)]`` of CuBIE IR (lhs, rhs) pairs, in input order."""

def ode_identifier(name: Any, what: str) -> str:
    """The NFKC form of ``name`` if it is an identifier, not a keyword; else EquationError."""

def ode_declare(
    states: Any, parameters: Any, constants: Any, observables: Any, drivers: Any
) -> list[tuple[tuple[str, ...], list[Any] | None]]:
    """Each layout as (checked NFKC names, the values given if it was a mapping, else None)."""
