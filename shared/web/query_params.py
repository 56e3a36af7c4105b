"""Query-string validation shared by the read APIs (metrics, predictions): one place
for how parameters are read, how a dataset id looks, and which dimension filters are
allowed. Names are checked against the schema; values only ever become parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from shared import errors
from shared.schema import BUSINESS_DATA, DIMENSIONS

MAX_FILTER_VALUES = 50
MAX_VALUE_LENGTH = 256
DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_COLUMNS = {c.name for c in BUSINESS_DATA}


def bad(field_name: str, message: str, code: str, **details: Any) -> errors.InvalidInput:
    return errors.InvalidInput(message, code=code, details={"field": field_name, **details})


def as_lists(args: Any) -> dict[str, list[str]]:
    """A werkzeug MultiDict or a plain mapping (of values or lists) as lists of strings."""
    if hasattr(args, "lists"):
        return {k: list(v) for k, v in args.lists()}
    return {k: [str(x) for x in v] if isinstance(v, list | tuple) else [str(v)]
            for k, v in dict(args).items()}


def one(multi: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = multi.get(key)
    return (values[0].strip() or None) if values else None


def single_controls(multi: Mapping[str, Sequence[str]], controls: Sequence[str]) -> None:
    for key in controls:
        if len(multi.get(key, [])) > 1:
            raise bad(key, f"'{key}' may be given only once", "repeated_parameter")


def dataset_id(multi: Mapping[str, Sequence[str]]) -> str:
    dataset = one(multi, "dataset")
    if not dataset:
        raise bad("dataset", "the 'dataset' parameter is required", "missing_parameter")
    if not DATASET_ID.match(dataset):
        raise bad("dataset", "'dataset' is not a valid dataset id", "invalid_parameter")
    return dataset


def dimension_filters(multi: Mapping[str, Sequence[str]],
                      controls: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Every parameter that is not a control is a filter on a canonical dimension."""
    filters: dict[str, tuple[str, ...]] = {}
    for key, values in multi.items():
        if key in controls:
            continue
        if key not in DIMENSIONS:
            why = ("is a column but not a filterable dimension" if key in _COLUMNS
                   else "is not a known parameter or dimension")
            raise bad(key, f"'{key}' {why}", "unknown_filter", allowed=list(DIMENSIONS))
        for v in values:
            if v == "" or len(v) > MAX_VALUE_LENGTH:
                raise bad(key, f"values of '{key}' must be 1 to {MAX_VALUE_LENGTH} "
                          "characters", "invalid_filter_value")
        clean = tuple(sorted(set(values)))
        if len(clean) > MAX_FILTER_VALUES:
            raise bad(key, f"at most {MAX_FILTER_VALUES} values per dimension",
                      "too_many_values", limit=MAX_FILTER_VALUES)
        filters[key] = clean
    return filters
