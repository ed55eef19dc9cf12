"""Right-hand sides from text to SymPy, through Python's ``ast`` (not ``sympify``).

Text is hashed by the Rust front end (``rust/ode/text/``) without SymPy; this module builds
the SymPy fields of a text-parsed ``ParsedEquations`` when they are first read, and is the
oracle the Rust front end is tested against (``tests/ode_oracle.py``): both give the same
canonical form.

Every name is a :class:`sympy.Symbol` unless it is called as one of the allowed functions, so
``beta``, ``gamma``, ``E``, ``I``, ``N``, ``S``, ``Q``, ``O`` and ``pi`` are ordinary symbols
(SymPy's own parser makes ``beta*x`` a TypeError and ``E`` Euler's number).  ``a if c else b``
becomes a Piecewise, and what SymPy's printer writes (``Piecewise((a, x > 0), (b, True))``,
``Eq(x, y)``, ``(x > 0) & (y < 1)``) parses back, so ``str(expr)`` round-trips.

Every operation is built unevaluated (``evaluate=False``), operator by operator, exactly as
CellML/Myokit importers build their trees: ``a - b`` is ``Add(a, Mul(-1, b))`` and ``a/b`` is
``Mul(a, Pow(b, -1))``.  SymPy therefore folds no number: it would fold floats with two
roundings in argument order (``x/1.5*40.0`` and ``40.0/1.5*x`` differ in the last bit), while
the canonical form folds every numeric sub-expression exactly and rounds once, so typed text
and importer-built trees hash alike bit for bit.  The result is still an ordinary SymPy
expression (code printers and ``free_symbols`` work on it).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import sympy
from sympy.codegen import cfunctions

from cubie_hash import _core
from cubie_hash.errors import EquationError

__all__ = ["FUNCTIONS", "parse_expression"]


def _function_table() -> dict[str, Callable[..., Any]]:
    table: dict[str, Callable[..., Any]] = {}
    for name in _core.ODE_FUNCTIONS:
        table[name] = getattr(sympy, name, None) or getattr(cfunctions, name)
    table.update(
        sqrt=sympy.sqrt,
        cbrt=sympy.cbrt,
        abs=sympy.Abs,
        min=sympy.Min,
        max=sympy.Max,
        ceil=sympy.ceiling,
        exp2=lambda x, evaluate=True: sympy.Pow(2, x, evaluate=evaluate),
        Eq=sympy.Eq,
        Ne=sympy.Ne,
        Lt=sympy.Lt,
        Le=sympy.Le,
        Gt=sympy.Gt,
        Ge=sympy.Ge,
        And=sympy.And,
        Or=sympy.Or,
        Not=sympy.Not,
        Xor=sympy.Xor,
    )
    return table


#: Function names allowed in equation text, with the SymPy callables they build.
FUNCTIONS = _function_table()


def _neg(a: Any) -> Any:
    return sympy.Mul(sympy.Integer(-1), a, evaluate=False)


def _div(a: Any, b: Any) -> Any:
    return sympy.Mul(a, sympy.Pow(b, sympy.Integer(-1), evaluate=False), evaluate=False)


def _unevaluated(make: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *args: make(*args, evaluate=False)


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: sympy.Add(a, b, evaluate=False),
    ast.Sub: lambda a, b: sympy.Add(a, _neg(b), evaluate=False),
    ast.Mult: lambda a, b: sympy.Mul(a, b, evaluate=False),
    ast.Div: _div,
    ast.Pow: lambda a, b: sympy.Pow(a, b, evaluate=False),
    ast.Mod: _unevaluated(sympy.Mod),
    ast.FloorDiv: lambda a, b: sympy.floor(_div(a, b), evaluate=False),
    # SymPy prints And/Or/Xor with these operators.
    ast.BitAnd: _unevaluated(sympy.And),
    ast.BitOr: _unevaluated(sympy.Or),
    ast.BitXor: _unevaluated(sympy.Xor),
}

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: _unevaluated(sympy.Lt),
    ast.LtE: _unevaluated(sympy.Le),
    ast.Gt: _unevaluated(sympy.Gt),
    ast.GtE: _unevaluated(sympy.Ge),
    ast.Eq: _unevaluated(sympy.Eq),
    ast.NotEq: _unevaluated(sympy.Ne),
}


class _Builder:
    def __init__(self, label: str) -> None:
        self.label = label

    def fail(self, node: ast.AST | None, problem: str) -> EquationError:
        where = f" (column {node.col_offset + 1})" if isinstance(node, ast.expr) else ""
        return EquationError(f"equation {self.label!r}: {problem}{where}")

    def build(self, node: ast.expr) -> Any:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"unsupported syntax {type(node).__name__}")
        return method(node)

    def _Name(self, node: ast.Name) -> Any:
        return sympy.Symbol(node.id)

    def _Constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool):
            return sympy.true if value else sympy.false
        if isinstance(value, int):
            return sympy.Integer(value)
        if isinstance(value, float):
            return sympy.Float(value)
        raise self.fail(node, f"unsupported constant {value!r}")

    def _BinOp(self, node: ast.BinOp) -> Any:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self.fail(node, f"unsupported operator {type(node.op).__name__}")
        return op(self.build(node.left), self.build(node.right))

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            return _neg(operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        return sympy.Not(operand, evaluate=False)  # `not x` and SymPy's printed `~x`

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        join = sympy.And if isinstance(node.op, ast.And) else sympy.Or
        return join(*(self.build(v) for v in node.values), evaluate=False)

    def _Compare(self, node: ast.Compare) -> Any:
        parts = []
        left = self.build(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            make = _COMPARE.get(type(op))
            if make is None:
                raise self.fail(node, f"unsupported comparison {type(op).__name__}")
            right = self.build(comparator)
            parts.append(make(left, right))
            left = right
        return parts[0] if len(parts) == 1 else sympy.And(*parts, evaluate=False)

    def _IfExp(self, node: ast.IfExp) -> Any:
        return sympy.Piecewise(
            (self.build(node.body), self.build(node.test)),
            (self.build(node.orelse), sympy.true),
            evaluate=False,
        )

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only plain function names can be called")
        name = node.func.id
        if node.keywords:
            raise self.fail(node, f"{name}() takes no keyword arguments")
        if name == "Piecewise":
            return sympy.Piecewise(*(self._piece(arg) for arg in node.args), evaluate=False)
        function = FUNCTIONS.get(name)
        if function is None:
            allowed = ", ".join(sorted(FUNCTIONS, key=str.lower))
            raise self.fail(node, f"unknown function {name}() (allowed: {allowed})")
        args = [self.build(arg) for arg in node.args]
        try:
            try:
                return function(*args, evaluate=False)
            except TypeError:  # a callable without `evaluate` (exp2): arguments stay unevaluated
                return function(*args)
        except (TypeError, ValueError) as err:
            raise self.fail(node, f"bad call to {name}(): {err}") from None

    def _piece(self, node: ast.expr) -> tuple[Any, Any]:
        if not isinstance(node, ast.Tuple) or len(node.elts) != 2:
            raise self.fail(node, "Piecewise takes (expression, condition) pairs")
        return self.build(node.elts[0]), self.build(node.elts[1])


def parse_expression(text: str | ast.expr, label: str) -> Any:
    """SymPy expression for the right-hand side ``text``; errors name the equation ``label``.

    Example:
        >>> parse_expression("beta*x if x > 0 else E", "dx = ...")
        Piecewise((beta*x, x > 0), (E, True))
    """
    if isinstance(text, str):
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as err:
            raise EquationError(
                f"equation {label!r}: syntax error at column {err.offset}: {err.msg}"
            ) from None
        node: ast.expr = tree.body
    else:
        node = text
    builder = _Builder(label)
    try:
        return builder.build(node)
    except (TypeError, ValueError, AttributeError) as err:
        if isinstance(err, EquationError):
            raise
        raise builder.fail(node, f"cannot build the expression: {err}") from None
