"""Measures as small arithmetic trees over aggregates of fields.

A measure is what a view adds up: `sum(amount)`, `avg(Discount)`, or a calculated one
an analyst wrote, `sum(Profit) / sum("Sales")`. The text is parsed by Python's own
parser in eval mode (`ast.parse(text, mode="eval")`) and the tree is walked against a
whitelist: numbers, + - * /, unary minus, parentheses and calls of the six aggregates
on one field, named bare (`Profit`) or quoted (`"Ship Mode"`). Anything else (an
attribute, a subscript, a keyword, a nested call, a comparison) is refused with a
named error. Nothing is ever evaluated and no text of the expression reaches SQL: the
tree is compiled by shared.metrics.fields, field names becoming quoted identifiers or
query parameters.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass
from typing import Union

from shared import errors

AGGS = ("sum", "avg", "min", "max", "count", "count_distinct")
NUMERIC_AGGS = ("sum", "avg", "min", "max")
MAX_EXPRESSION_CHARS = 500
MAX_NODES = 60
MAX_DEPTH = 12
OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


@dataclass(frozen=True)
class Agg:
    fn: str
    field: str


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg:
    operand: Node


Node = Union[Agg, Num, BinOp, Neg]  # noqa: UP007 (a runtime alias for the dataclasses)


def invalid(message: str, code: str = "invalid_expression", **details: object
            ) -> errors.InvalidInput:
    return errors.InvalidInput(message, code=code,
                               details={"field": "expression", **details})


def parse(text: str) -> Node:
    """The tree of an expression, or InvalidInput naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise invalid("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise invalid(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters",
                      "expression_too_long", limit=MAX_EXPRESSION_CHARS)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise invalid("the expression is not valid: use numbers, + - * / and "
                      f"parentheses over {', '.join(AGGS)} of a field") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise invalid(f"the expression has more than {MAX_NODES} parts",
                      "expression_too_long", limit=MAX_NODES)
    return _walk(tree.body, 0)


def _walk(node: ast.AST, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise invalid(f"the expression nests deeper than {MAX_DEPTH} levels",
                      "expression_too_long", limit=MAX_DEPTH)
    if isinstance(node, ast.BinOp) and type(node.op) in OPS:
        return BinOp(OPS[type(node.op)], _walk(node.left, depth + 1),
                     _walk(node.right, depth + 1))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _walk(node.operand, depth + 1)
        return Neg(inner) if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):
        value = float(node.value)
        if not math.isfinite(value):
            raise invalid("numbers in an expression must be finite")
        return Num(value)
    if isinstance(node, ast.Call):
        return _call(node)
    if isinstance(node, ast.Name):
        raise invalid(f"'{node.id}' must be inside an aggregate, e.g. sum({node.id})",
                      "bare_field")
    raise invalid(f"'{type(node).__name__}' is not allowed in an expression: use numbers, "
                  f"+ - * / and parentheses over {', '.join(AGGS)} of a field",
                  "unsupported_syntax")


def _call(node: ast.Call) -> Agg:
    if not isinstance(node.func, ast.Name) or node.func.id not in AGGS:
        raise invalid(f"only the aggregates {', '.join(AGGS)} may be called",
                      "unknown_function")
    if node.keywords or len(node.args) != 1:
        raise invalid(f"{node.func.id}() takes exactly one field", "invalid_arguments")
    arg = node.args[0]
    if isinstance(arg, ast.Name):
        return Agg(node.func.id, arg.id)
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
        return Agg(node.func.id, arg.value)
    raise invalid(f"{node.func.id}() takes a field name, bare or in quotes (no nested "
                  "aggregate or arithmetic)", "invalid_arguments")


def fields_of(node: Node) -> list[Agg]:
    """The aggregates of a tree, left to right."""
    if isinstance(node, Agg):
        return [node]
    if isinstance(node, BinOp):
        return fields_of(node.left) + fields_of(node.right)
    if isinstance(node, Neg):
        return fields_of(node.operand)
    return []


def render(node: Node) -> str:
    """The tree as canonical text (stored and echoed; parses back to the same tree)."""
    if isinstance(node, Agg):
        name = node.field if node.field.isidentifier() else _quote(node.field)
        return f"{node.fn}({name})"
    if isinstance(node, Num):
        return repr(int(node.value)) if node.value.is_integer() else repr(node.value)
    if isinstance(node, Neg):
        return f"-({render(node.operand)})"
    return f"({render(node.left)} {node.op} {render(node.right)})"


def _quote(name: str) -> str:
    return json.dumps(name)  # JSON string escapes are valid Python string escapes
