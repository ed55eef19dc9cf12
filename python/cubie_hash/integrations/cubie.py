"""cubie_hash for CuBIE 0.17: CuBIE's systems as input, and a canonical front door to CuBIE.

**CuBIE objects as input.** :func:`cubie_hash.ode.hash_system_definition`,
:func:`~cubie_hash.ode.canonical_text` and :func:`~cubie_hash.ode.parse_equations` accept
CuBIE's ``ParsedSystem`` (what ``parse_system`` returns), ``SpecialisedSystem`` (what
``ParsedSystem.specialise()`` returns), ``SymbolicODE`` (its current specialisation), their
equation containers (``NormalisedSystem``,
CuBIE's ``ParsedEquations``) and plain lists of CuBIE IR ``(lhs, rhs)`` pairs.  The engine IR
is walked in Rust into the canonical form, numbers exactly (``int``, ``float``,
``fractions.Fraction``); CuBIE's derivative symbols (``x_t``) are mapped back to ``dx``
through its registry; layouts come from the object (a ``ParsedSystem`` in declaration order,
a ``SpecialisedSystem`` in its buffer order, which CuBIE sorts by name, with only the swept
parameters as parameters: the others are folded into the equations as numbers).  Nothing
here imports CuBIE: objects are recognised by their class's module.

**The front door.** :func:`create_ODE_system` has CuBIE's signature (plus ``constants``).
It parses with cubie_hash (any input form), hands CuBIE the canonical form as IR pairs
(CuBIE's documented pre-converted input, read without SymPy, so every double arrives as the
very double that was hashed) and names the system from the fn_hash.  Every input form of one
system then gives CuBIE one cache folder and one generated file.

Example (the examples here need CuBIE; ``tests/test_cubie.py`` runs them)::

    >>> from cubie_hash.ode import hash_system_definition, parse_equations
    >>> from cubie.odesystems.symbolic.parsing import parse_system
    >>> text = "dx = -k*x"
    >>> ours = parse_equations(text, states={"x": 1.0}, parameters={"k": 0.5})
    >>> theirs = parse_system(text, states={"x": 1.0}, parameters={"k": 0.5})
    >>> hash_system_definition(theirs) == ours.fn_hash
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from cubie_hash import _core
from cubie_hash.errors import EquationError, InputTypeError

if TYPE_CHECKING:
    from cubie_hash.ode.parsed import ParsedEquations
    from cubie_hash.ode.trees import Tree

__all__ = [
    "IR_MODULE",
    "Lowered",
    "canonical_text",
    "create_ODE_system",
    "cubie_equations",
    "hash_system",
    "is_cubie_object",
    "lower",
    "parse",
    "to_cubie_ir",
]

#: The module of CuBIE's engine IR node classes.
IR_MODULE = "cubie.odesystems.symbolic.engine.expr"


def _from_cubie(obj: Any) -> bool:
    module = type(obj).__module__
    return module == "cubie" or module.startswith("cubie.")


def is_cubie_object(obj: Any) -> bool:
    """Whether ``obj`` is a CuBIE system or a non-empty sequence of CuBIE IR pairs.

    Decided from class modules only, so it never imports CuBIE.

    Example:
        >>> is_cubie_object("dx = -x"), is_cubie_object([("dx", "-x")])
        (False, False)
    """
    if _from_cubie(obj):
        return True
    if isinstance(obj, Sequence) and not isinstance(obj, str) and obj:
        first = obj[0]
        return (
            isinstance(first, (tuple, list))
            and len(first) == 2
            and any(type(side).__module__ == IR_MODULE for side in first)
        )
    return False


@dataclass(frozen=True)
class Lowered:
    """A CuBIE system read for hashing: IR pairs, derivative names and layouts.

    ``derivatives`` maps CuBIE's derivative symbols to ``dX``: a dict, or CuBIE's
    ``DerivativeRegistry``, which Rust asks about each left-hand side.  ``layouts`` is False
    when the object carries none (an IR list, a ``NormalisedSystem``,
    CuBIE's ``ParsedEquations``): the caller's arguments give them.
    """

    equations: Sequence[Any]
    derivatives: Any = None
    layouts: bool = False
    states: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    drivers: tuple[str, ...] = ()
    observables: tuple[str, ...] = ()
    state_values: Mapping[str, float] = field(default_factory=dict)
    parameter_values: Mapping[str, float] = field(default_factory=dict)


def lower(obj: Any) -> Lowered:
    """Read a CuBIE object (see :func:`is_cubie_object`) into a :class:`Lowered`.

    Raises:
        InputTypeError: a CuBIE object of a kind that holds no system.

    Example:
        >>> lower(parse_system("dx = -x", states=["x"])).states
        ('x',)
    """
    kind = type(obj).__name__
    if not _from_cubie(obj):
        return Lowered(list(obj))
    if kind == "ParsedSystem":
        normalised = obj.normalised
        return Lowered(
            normalised.equations,
            normalised.registry,
            layouts=True,
            # CuBIE keys these by str already (parse_system str()s every name).
            states=tuple(obj.states),
            parameters=tuple(obj.parameters),
            drivers=tuple(obj.driver_names),
            observables=tuple(obj.observables),
            state_values=obj.states,
            parameter_values=obj.parameters,
        )
    if kind in ("SpecialisedSystem", "SymbolicODE"):
        # A SymbolicODE (what create_ODE_system returns) hashes as its current specialisation.
        layout = obj.layout
        return Lowered(
            obj.equations.ordered,
            layouts=True,
            states=tuple(layout.state_names),
            parameters=tuple(layout.swept_names),
            drivers=tuple(layout.driver_names),
            observables=tuple(layout.observable_names),
        )
    if kind == "NormalisedSystem":
        return Lowered(obj.equations, obj.registry)
    if hasattr(obj, "ordered"):  # CuBIE's ParsedEquations: dX names already
        return Lowered(obj.ordered)
    raise InputTypeError(
        f"cannot read a CuBIE {kind} as a system: give a ParsedSystem, a SpecialisedSystem, "
        "their equations, or a list of IR (lhs, rhs) pairs"
    )


def _layouts(
    low: Lowered,
    constants: Mapping[str, Any] | None,
    given: Sequence[Iterable[Any]],
) -> tuple[Any, Any, Any, Any, Any]:
    if not low.layouts:
        states, parameters, drivers, observables = given
        return (constants, states, parameters, drivers, observables)
    if constants or any(list(g) for g in given):
        raise InputTypeError(
            "layouts come from the CuBIE object; pass no states, parameters, drivers, "
            "observables or constants with it"
        )
    return (None, low.states, low.parameters, low.drivers, low.observables)


def hash_system(
    obj: Any,
    *,
    constants: Mapping[str, Any] | None = None,
    states: Iterable[Any] = (),
    parameters: Iterable[Any] = (),
    drivers: Iterable[Any] = (),
    observables: Iterable[Any] = (),
    algorithm: str = "blake3",
) -> str:
    """The canonical hash of a CuBIE object (what ``hash_system_definition`` returns for one).

    Example:
        >>> from cubie.odesystems.symbolic.engine import expr as ir
        >>> pairs = [(ir.sym("dx"), ir.mul(-1, ir.sym("k"), ir.sym("x")))]
        >>> hash_system(pairs, states=["x"], parameters=["k"]) == parse_equations(
        ...     "dx = -k*x", states=["x"], parameters=["k"]).fn_hash
        True
    """
    low = lower(obj)
    layouts = _layouts(low, constants, (states, parameters, drivers, observables))
    c, s, p, d, o = layouts
    return _core.ode_cubie_hash(low.equations, low.derivatives, c, s, p, d, o, algorithm)


def canonical_text(
    obj: Any,
    *,
    constants: Mapping[str, Any] | None = None,
    states: Iterable[Any] = (),
    parameters: Iterable[Any] = (),
    drivers: Iterable[Any] = (),
    observables: Iterable[Any] = (),
) -> str:
    """The readable canonical form of a CuBIE object (see ``cubie_hash.ode.canonical_text``).

    Example:
        >>> print(canonical_text(parse_system("dx = -k*x", states=["x"],
        ...                                   parameters=["k"])))
        cubie_hash/ode v2
        states: [x]
        parameters: [k]
        drivers: []
        observables: []
        dx = Mul(-1, k, x)
        <BLANKLINE>
    """
    low = lower(obj)
    layouts = _layouts(low, constants, (states, parameters, drivers, observables))
    return _core.ode_cubie_canonical_text(low.equations, low.derivatives, *layouts)


def parse(
    obj: Any,
    *,
    states: Any = None,
    parameters: Any = None,
    constants: Any = None,
    observables: Any = None,
    drivers: Any = None,
    algorithm: str = "blake3",
) -> ParsedEquations:
    """A cubie_hash :class:`~cubie_hash.ode.ParsedEquations` of a CuBIE object.

    The equations are the canonical form of CuBIE's IR, rebuilt as unevaluated SymPy; the
    declarations come from the object (with their values) or, for an object without
    layouts, from the arguments.  Its ``fn_hash`` equals ``hash_system_definition(obj)``.

    Example:
        >>> p = parse(parse_system("dx = -k*x", states={"x": 1.0},
        ...                        parameters={"k": 0.5}))
        >>> p.states, p.parameter_values
        (('x',), {'k': 0.5})
    """
    import sympy

    from cubie_hash.ode.parsing import parse_equations
    from cubie_hash.ode.trees import to_sympy

    low = lower(obj)
    if low.layouts:
        _layouts(low, constants, (states or (), parameters or (), drivers or (), observables or ()))
        values = low.state_values
        states = {s: values.get(s, 0.0) for s in low.states} if values else list(low.states)
        values = low.parameter_values
        parameters = {p: values[p] for p in low.parameters} if values else list(low.parameters)
        drivers, observables = list(low.drivers), list(low.observables)
    trees = _core.ode_cubie_trees(low.equations, low.derivatives)
    pairs = [(sympy.Symbol(name), to_sympy(tree)) for name, tree in trees]
    return parse_equations(
        pairs,
        states=states,
        parameters=parameters,
        constants=constants,
        observables=observables,
        drivers=drivers,
        algorithm=algorithm,
    )


# CuBIE IR building -----------------------------------------------------------------------

_IR_CONSTANTS = {
    "pi": math.pi,
    "E": math.e,
    "EulerGamma": 0.5772156649015329,
    "GoldenRatio": (1 + math.sqrt(5)) / 2,
}
_RECIPROCALS = {"cot": "tan", "sec": "cos", "csc": "sin"}


def to_cubie_ir(tree: Tree) -> Any:
    """CuBIE engine IR of one canonical tree (imports CuBIE).

    Numbers arrive unchanged (``int``, ``Fraction``, the hashed ``float``); CuBIE's
    constructors fold nothing the canonical form has not folded already, so the IR is a
    function of the canonical form alone.

    Raises:
        EquationError: a construct CuBIE has no IR for (``oo``, ``nan``, ``I``, ``Xor``).

    Example:
        >>> to_cubie_ir(("mul", (("rat", (-1, 2)), ("sym", "x"))))
        Mul(Num(Fraction(-1, 2)), Sym(x))
    """
    from cubie.odesystems.symbolic.engine import expr as ir

    def build(node: Tree) -> Any:
        tag, payload = node
        if tag == "int":
            return ir.num(payload)
        if tag == "rat":
            return ir.num(Fraction(*payload))
        if tag == "float":
            return ir.num(float(payload))
        if tag == "sym":
            return ir.sym(payload)
        if tag == "const":
            if payload not in _IR_CONSTANTS:
                raise EquationError(f"CuBIE has no IR for the constant {payload}")
            return ir.num(_IR_CONSTANTS[payload])
        if tag in ("add", "mul"):
            make = ir.add if tag == "add" else ir.mul
            return make(*map(build, payload))
        if tag == "pow":
            return ir.pow_(*map(build, payload))
        if tag == "func":
            name, args = payload
            built = list(map(build, args))
            if name in _RECIPROCALS:
                return ir.pow_(ir.call(_RECIPROCALS[name], *built), ir.NEG_ONE)
            if name == "Heaviside":  # as CuBIE's own SymPy conversion lowers it
                at_zero = built[1] if len(built) > 1 else ir.num(Fraction(1, 2))
                return ir.piecewise(
                    (ir.ZERO, ir.rel("<", built[0], ir.ZERO)),
                    (at_zero, ir.rel("==", built[0], ir.ZERO)),
                    (ir.ONE, ir.TRUE),
                )
            return ir.call(name, *built)
        if tag == "piecewise":
            return ir.piecewise(*((build(v), build(c)) for v, c in payload))
        if tag == "rel":
            op, left, right = payload
            return ir.rel(op, build(left), build(right))
        if tag == "bool":
            op, args = payload
            if op == "xor":
                raise EquationError("CuBIE has no IR for Xor")
            return ir.bool_op(op, *map(build, args))
        if tag == "truth":
            return ir.TRUE if payload else ir.FALSE
        raise EquationError(f"unknown canonical tree tag {tag!r}")

    return build(tree)


def cubie_equations(parsed: ParsedEquations) -> list[tuple[Any, Any]]:
    """The canonical form of ``parsed`` as CuBIE IR (lhs, rhs) pairs, sorted by name.

    Example:
        >>> cubie_equations(parse_equations("dx = -k*x", states=["x"],
        ...                                 parameters=["k"]))
        [(Sym(dx), Mul(Num(-1), Sym(k), Sym(x)))]
    """
    from cubie.odesystems.symbolic.engine import expr as ir

    if parsed.canonical is None:
        raise EquationError("cubie_equations needs a system built by parse_equations")
    pairs = []
    for name, tree in parsed.canonical.trees():
        try:
            pairs.append((ir.sym(name), to_cubie_ir(tree)))
        except (ValueError, TypeError) as err:
            if isinstance(err, EquationError):
                raise EquationError(f"equation for {name}: {err}") from None
            raise EquationError(f"equation for {name}: CuBIE refused it: {err}") from None
    return pairs


def create_ODE_system(  # noqa: N802 - CuBIE's name, so the front door is a drop-in
    dxdt: Any,
    precision: Any = None,
    states: Any = None,
    observables: Any = None,
    parameters: Any = None,
    drivers: Any = None,
    user_functions: Any = None,
    user_function_derivatives: Any = None,
    name: str | None = None,
    strict: bool = False,
    state_priority: Any = None,
    irreducible: Any = None,
    simplify_options: Any = None,
    operation_ordering: str | None = None,
    swept_parameters: Any = None,
    *,
    constants: Any = None,
) -> Any:
    """CuBIE's ``create_ODE_system``, fed the canonical form: one system, one cache entry.

    ``dxdt`` is anything :func:`cubie_hash.ode.parse_equations` reads (text in any order and
    spacing, ``"lhs = rhs"`` strings, ``sympy.Eq``, importer trees, a ``ParsedEquations``,
    CuBIE objects); the other arguments are CuBIE's (``precision`` defaults to float32, as
    there), plus ``constants`` (compiled in, passed to CuBIE as parameters with values).
    The system is named ``ch_`` + the first 16 hex digits of its fn_hash unless ``name`` is
    given, so its CuBIE cache folder is a function of the canonical form.

    Raises:
        InputTypeError: a callable ``dxdt`` or ``user_functions``: cubie_hash cannot put
            them in canonical form (call CuBIE's own ``create_ODE_system``).
        EquationError: what ``parse_equations`` refuses (undeclared symbols included:
            declare every parameter), or a construct CuBIE has no IR for.

    Example:
        >>> ode = create_ODE_system("dx = -k*x", states={"x": 1.0},
        ...                         parameters={"k": 0.5})
        >>> ode.name
        'ch_fc3c63fce2511283'
    """
    from cubie.odesystems.symbolic.symbolicODE import create_ODE_system as cubie_create
    from numpy import float32

    from cubie_hash.ode.parsing import parse_equations

    if user_functions or user_function_derivatives:
        raise InputTypeError(
            "user_functions have no canonical form; call cubie's create_ODE_system directly"
        )
    if callable(dxdt) and not isinstance(dxdt, (str, list, tuple)):
        raise InputTypeError(
            "a callable dxdt has no canonical form; call cubie's create_ODE_system directly"
        )
    driver_names = None if drivers is None else [str(d) for d in drivers]
    parsed = parse_equations(
        dxdt,
        states=states,
        parameters=parameters,
        constants=constants,
        observables=observables,
        drivers=driver_names,
    )
    cubie_parameters: dict[str, Any] = {
        p: parsed.parameter_values.get(p, 0.0) for p in parsed.parameters
    }
    cubie_parameters.update(parsed.constants)
    return cubie_create(
        cubie_equations(parsed),
        precision=float32 if precision is None else precision,
        states={s: parsed.state_values.get(s, 0.0) for s in parsed.states},
        observables=list(parsed.observable_names),
        parameters=cubie_parameters,
        drivers=list(parsed.drivers) or None,
        name=name if name is not None else f"ch_{parsed.fn_hash[:16]}",
        strict=strict,
        state_priority=state_priority,
        irreducible=irreducible,
        simplify_options=simplify_options,
        operation_ordering=operation_ordering,
        swept_parameters=swept_parameters,
    )
