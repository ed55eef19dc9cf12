"""Build SymPy trees the way CellML/Myokit importers do: unevaluated, operator by operator.

``a - b`` becomes ``Add(a, Mul(-1, b))``, ``a/b`` becomes ``Mul(a, Pow(b, -1))``, all with
``evaluate=False``, so no coefficient is distributed and no number folded by SymPy.
"""

from __future__ import annotations

import ast
from typing import Any

import sympy as sp

_FUNCTIONS = {"exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "Abs": sp.Abs}
_COMPARE = {ast.Gt: sp.Gt, ast.Lt: sp.Lt, ast.GtE: sp.Ge, ast.LtE: sp.Le}


def build(node: ast.expr) -> Any:
    if isinstance(node, ast.Name):
        return sp.Symbol(node.id)
    if isinstance(node, ast.Constant):
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
    if isinstance(node, ast.UnaryOp):
        return sp.Mul(-1, build(node.operand), evaluate=False)
    if isinstance(node, ast.BinOp):
        a, b = build(node.left), build(node.right)
        op = type(node.op)
        if op is ast.Add:
            return sp.Add(a, b, evaluate=False)
        if op is ast.Sub:
            return sp.Add(a, sp.Mul(-1, b, evaluate=False), evaluate=False)
        if op is ast.Mult:
            return sp.Mul(a, b, evaluate=False)
        if op is ast.Div:
            return sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False)
        if op is ast.Pow:
            return sp.Pow(a, b, evaluate=False)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _FUNCTIONS[node.func.id](*(build(a) for a in node.args), evaluate=False)
    if isinstance(node, ast.Compare):
        make = _COMPARE[type(node.ops[0])]
        return make(build(node.left), build(node.comparators[0]), evaluate=False)
    if isinstance(node, ast.IfExp):
        return sp.Piecewise(
            (build(node.body), build(node.test)), (build(node.orelse), True), evaluate=False
        )
    raise NotImplementedError(ast.dump(node))


def unevaluated_pairs(text: str) -> list[tuple[Any, Any]]:
    """(Symbol, unevaluated rhs) for every 'lhs = rhs' line of ``text``."""
    pairs = []
    for line in text.splitlines():
        if line.strip():
            lhs, rhs = line.split("=", 1)
            pairs.append((sp.Symbol(lhs.strip()), build(ast.parse(rhs.strip(), mode="eval").body)))
    return pairs
