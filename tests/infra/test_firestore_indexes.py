"""Every document query in shared/ that Firestore cannot serve from its automatic
single-field indexes has a composite index in terraform/firestore.tf."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.infra.terraform_config import ROOT, load

EQUALITY = {"==", "in", "array-contains", "array-contains-any"}


def _const(node: ast.AST):
    return node.value if isinstance(node, ast.Constant) else None


def _calls_named(node: ast.AST, name: str) -> list[ast.Call]:
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            fn = sub.func
            fname = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", None)
            if fname == name:
                out.append(sub)
    return out


def queries(source: str) -> list[dict]:
    """Fields each `.query(...)` call filters and orders on (constants only)."""
    found = []
    for call in _calls_named(ast.parse(source), "query"):
        kwargs = {k.arg: k.value for k in call.keywords}
        if "filters" not in kwargs and "order_by" not in kwargs:
            continue
        filters = []
        for f in _calls_named(kwargs.get("filters", ast.Constant(None)), "Filter"):
            field, op = (_const(a) for a in f.args[:2])
            if field:
                filters.append((field, op))
        orders = []
        for o in _calls_named(kwargs.get("order_by", ast.Constant(None)), "Order"):
            field = _const(o.args[0]) if o.args else None
            desc = next((_const(k.value) for k in o.keywords if k.arg == "descending"), False)
            if field:
                orders.append((field, bool(desc)))
        found.append({"line": call.lineno, "filters": filters, "orders": orders})
    return found


def needs_composite(q: dict) -> frozenset[str] | None:
    ranged = {f for f, op in q["filters"] if op not in EQUALITY}
    ordered = {f for f, _ in q["orders"]}
    fields = {f for f, _ in q["filters"]} | ordered
    if (ranged or ordered) and len(fields) >= 2:
        return frozenset(fields)
    return None


def _service_sources() -> dict[Path, str]:
    skip = {ROOT / "shared" / "ports.py"}
    return {p: p.read_text(encoding="utf-8") for p in (ROOT / "shared").rglob("*.py")
            if "adapters" not in p.parts and p not in skip}


def test_queries_needing_a_composite_index_have_one():
    declared = {frozenset(field for field, _ in spec["fields"])
                for spec in load().locals["firestore_indexes"].values()}
    missing = []
    for path, text in _service_sources().items():
        for q in queries(text):
            fields = needs_composite(q)
            if fields and fields not in declared:
                missing.append(f"{path.relative_to(ROOT)}:{q['line']} {sorted(fields)}")
    assert not missing, "add to firestore_indexes in terraform/firestore.tf: " + "; ".join(
        missing)


def test_the_query_reader_sees_filters_and_orders():
    src = ('docs.query(c, filters=[Filter("dataset_id", "==", d)], '
           'order_by=[Order("created_at", descending=True)])\n'
           'docs.query(c, filters=[Filter("role", "==", "admin")])\n')
    first, second = queries(src)
    assert first["filters"] == [("dataset_id", "==")]
    assert first["orders"] == [("created_at", True)]
    assert needs_composite(first) == {"dataset_id", "created_at"}
    assert needs_composite(second) is None


def test_shared_has_document_queries_to_check():
    # Guards the scan itself: if it found nothing, the check above would be empty.
    assert sum(len(queries(t)) for t in _service_sources().values()) >= 3
