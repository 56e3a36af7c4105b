"""Issue 16 at the unit level: the null-token lists match the README, a header-chosen
role keeps the single-read decision right, and a column whose values settle it as a
number is still chosen by content only when its header says nothing."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shared.ingest import IngestFailed, IngestOptions, stage
from shared.ingest.nulls import COMMON, NULL_TOKENS
from shared.ingest.streams import GROUP_BYTES

README = Path(__file__).resolve().parents[2] / "README.md"
ROWS = 150_000
NOTE = "n" * 40


class Opens:
    def __init__(self, data: bytes) -> None:
        self.data, self.count = data, 0

    def __call__(self) -> io.BytesIO:
        self.count += 1
        return io.BytesIO(self.data)


def _stage(header: str, lines: list[str], tmp_path, **opts):
    data = "\n".join([f"{header},Note", *(f"{line},{NOTE}" for line in lines)]).encode()
    assert len(data) > 2 * GROUP_BYTES, "spans several groups: the plan is provisional"
    opener = Opens(data)
    staged = stage(opener, IngestOptions("t", "d", "u", **opts), tmp_path / "stage")
    return staged, opener.count - 1  # the first open is the sniff


@pytest.mark.parametrize("kind", sorted(NULL_TOKENS))
def test_readme_lists_the_null_tokens_of_each_column_type(kind):
    text = README.read_text(encoding="utf-8")
    line = next((ln for ln in text.splitlines() if ln.startswith(f"| {kind} |")), None)
    assert line is not None, f"the README's null-token table has no {kind} row"
    listed = set(re.findall(r"`([^`]+)`", line)) | ({""} if "(empty)" in line else set())
    assert listed == set(NULL_TOKENS[kind]), kind
    assert set(COMMON) <= set(NULL_TOKENS[kind])


def test_placeholders_late_in_a_header_chosen_amount_keep_the_single_read(tmp_path):
    # The first group settles Sales as numbers; the whole file has 10% placeholders,
    # which would once have left the plan the same only by luck of the share. The
    # header decides the role, so the provisional plan holds and one read is enough.
    lines = [f"2024-01-{i % 28 + 1:02d},{i}.5" for i in range(ROWS)]
    lines += [f"2024-01-02,{'TBD' if i % 2 else 'pending'}" for i in range(ROWS // 10)]
    staged, reads = _stage("Order Date,Sales", lines, tmp_path)
    assert reads == 1
    report = staged.report
    assert report.rows_rejected == ROWS // 10
    assert report.rejected_by_reason == {"invalid_amount": ROWS // 10}
    assert report.mapping["amount"] == {"column": "Sales", "by": "header"}
    assert report.rows_loaded == ROWS


def test_a_header_chosen_amount_mostly_placeholders_late_reads_again_and_fails(tmp_path):
    # Clean at first, placeholders for most of the file: the converting pass decides,
    # stops past the limit and names the column.
    lines = [f"2024-01-01,{i}" for i in range(ROWS // 3)]
    lines += ["2024-01-02,see note"] * ROWS
    with pytest.raises(IngestFailed) as info:
        _stage("Order Date,Sales", lines, tmp_path)
    assert info.value.code == "too_many_rejects"
    assert info.value.details["column"] == "Sales"
    assert info.value.details["examples"] == ["see note"]
    assert "'Sales'" in info.value.message
    assert not list((tmp_path / "stage").glob("*.parquet"))


def test_missing_amounts_and_quantities_are_counted_across_batches(tmp_path):
    # Never both on one line: a line with neither measure is `missing_measure`.
    lines = [f"2024-01-03,{'' if i % 100 == 0 else i},{'n/a' if i % 50 == 25 else 1}"
             for i in range(ROWS)]
    staged, _ = _stage("date,amount,qty", lines, tmp_path)
    report = staged.report
    assert report.rejected_by_reason == {"missing_amount": ROWS // 100}
    # Lines with no quantity and an amount are loaded and counted, never rejected.
    assert report.rows_without_quantity == ROWS // 50
    assert report.rows_without_amount == 0
    kept, _ = _stage("date,amount,qty", lines, tmp_path / "kept",
                     keep_rows_without_amount=True)
    assert kept.report.rows_rejected == 0
    assert kept.report.rows_without_amount == ROWS // 100
    amounts = pq.read_table(kept.parquet_path, columns=["amount"]).column("amount")
    assert amounts.null_count == ROWS // 100


def test_a_user_mapping_to_a_text_column_is_still_refused(tmp_path):
    # The user's mapping is checked as before: naming a column of words as the amount
    # is a mistake to report, not a column to reject row by row.
    lines = [f"2024-01-04,{i},word{i}" for i in range(ROWS)]
    with pytest.raises(IngestFailed) as info:
        _stage("date,amount,label", lines, tmp_path, mapping={"amount": "label"})
    assert info.value.code == "mapping_type_mismatch"
