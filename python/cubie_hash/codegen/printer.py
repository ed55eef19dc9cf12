"""SymPy → Numba-compilable Python expressions, through SymPy's own Python code printer.

The printer only adds what code generation for a fixed precision needs: user symbols are
renamed to safe local names (``v_<name>``, so no name can shadow ``math``, ``out`` or a Python
keyword), and every float or rational literal is wrapped in ``_precision(...)`` so a
``float32`` build does not silently promote to ``float64``.  Everything else (``math.exp``,
``a if c else b`` for Piecewise, ``min``/``max``, ``abs``) is SymPy's standard output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy
from sympy.printing.pycode import PythonCodePrinter

from cubie_hash.errors import EquationError

__all__ = ["ExpressionPrinter"]


class ExpressionPrinter(PythonCodePrinter):  # type: ignore[misc]
    """Print one right-hand side with renamed symbols and precision-typed literals.

    Example:
        >>> import sympy
        >>> x = sympy.Symbol("x")
        >>> ExpressionPrinter({"x": "v_x"}).doprint(0.5 * sympy.exp(x))
        '_precision(0.5)*math.exp(v_x)'
    """

    def __init__(self, names: Mapping[str, str]) -> None:
        super().__init__({"fully_qualified_modules": True, "strict": True})
        self._names = dict(names)

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        try:
            return self._names[expr.name]
        except KeyError:
            raise EquationError(f"symbol {expr.name!r} is not declared in the system") from None

    def _print_Float(self, expr: sympy.Float) -> str:
        # repr() of a Python float round-trips the exact double the canonical hash recorded.
        return f"_precision({float(expr)!r})"

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return f"(_precision({expr.p})/_precision({expr.q}))"

    def _print_Half(self, expr: Any) -> str:
        return self._print_Rational(expr)

    def expression(self, expr: sympy.Expr, where: str) -> str:
        """Print ``expr``; a construct Numba cannot compile is an EquationError naming ``where``."""
        try:
            return str(self.doprint(expr))
        except EquationError as err:
            raise EquationError(f"{where}: {err}") from None
        except Exception as err:  # SymPy's PrintMethodNotImplementedError and friends
            raise EquationError(f"{where}: cannot generate code for {expr}: {err}") from err
