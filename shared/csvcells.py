"""Cells written to a CSV a person will open in a spreadsheet: text that Excel,
LibreOffice or Sheets would run as a formula is neutralized (OWASP "CSV Injection":
prefix with a single quote). Light on purpose: every function that writes a CSV
imports it, the ones without the ingest's dependencies included."""

from __future__ import annotations

import re
from typing import Any

# The full-width forms are folded to their ASCII twins by some spreadsheet locales.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "｜", "＝", "＋", "－", "＠")
_PLAIN_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)?$")


def neutralize(cell: Any) -> str:
    """A cell that cannot start a formula in Excel, LibreOffice or Sheets."""
    text = "" if cell is None else str(cell)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def cell(value: Any) -> Any:
    """Numbers as they are (the CSV writer formats them), None as empty, text
    neutralized."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralize(value)
    return value
