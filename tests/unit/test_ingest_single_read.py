"""One read when the first rows settle on the plan the whole file settles on; a second
read, with the same result two passes give, whenever they do not."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest

from shared.ingest import IngestFailed, IngestOptions, stage
from shared.ingest.streams import GROUP_BYTES

ROWS = 150_000
# Every line gets a text column, so that even the shortest file here spans several
# grouped batches (the provisional plan comes from the first).
NOTE = "n" * 40


class Opens:
    def __init__(self, data: bytes) -> None:
        self.data, self.count = data, 0

    def __call__(self) -> io.BytesIO:
        self.count += 1
        return io.BytesIO(self.data)


def _stage(lines: list[str], tmp_path, **opts):
    sep = ";" if ";" in lines[0] else ","
    data = "\n".join(f"{line}{sep}{'Note' if i == 0 else NOTE}"
                     for i, line in enumerate(lines)).encode()
    assert len(data) > 2 * GROUP_BYTES
    opener = Opens(data)
    staged = stage(opener, IngestOptions("t", "d", "u", **opts), tmp_path / "stage")
    return staged, opener.count - 1  # the first open is the sniff


def _column(staged, name: str) -> list:
    return pq.read_table(staged.parquet_path, columns=[name]).column(name).to_pylist()


def test_a_clean_file_is_read_once(tmp_path):
    lines = ["Order Date,Sales,Region"] + [f"2024-01-{i % 28 + 1:02d},{i}.5,r{i % 3}"
                                           for i in range(ROWS)]
    staged, reads = _stage(lines, tmp_path)
    assert reads == 1
    assert staged.report.rows_loaded == ROWS and staged.report.rows_read == ROWS
    assert _column(staged, "row_number")[-1] == ROWS
    assert str(_column(staged, "amount")[-1].normalize()) == f"{ROWS - 1}.5"


def test_an_unmapped_column_changing_type_late_still_reads_once(tmp_path):
    # "Code" reads as a number for most of the file; it is kept in `extra` as text
    # either way, so the conversion does not depend on it.
    lines = ["Order Date,Sales,Code"] + [f"2024-02-01,{i},{i}" for i in range(ROWS)]
    lines += [f"2024-02-02,1,X{i}" for i in range(ROWS // 2)]
    staged, reads = _stage(lines, tmp_path)
    assert reads == 1
    assert staged.report.rows_loaded == ROWS + ROWS // 2
    assert json.loads(_column(staged, "extra")[-1]) == {"Code": f"X{ROWS // 2 - 1}", "Note": NOTE}


def test_a_decimal_comma_settled_late_reads_again_and_converts_every_row(tmp_path):
    # Whole numbers up front read either way; the comma decimals at the end settle
    # the quantity column as decimal comma, which the first rows could not tell.
    lines = ["Order Date;Sales;Quantity"] + ["2024-03-01;10.5;3"] * ROWS
    lines += ["2024-03-02;10.5;1,5"] * (ROWS // 10)
    staged, reads = _stage(lines, tmp_path)
    assert reads == 2
    assert staged.report.rows_rejected == 0
    quantities = _column(staged, "quantity")
    assert quantities[0] == 3.0 and quantities[-1] == 1.5


def test_a_column_mapped_by_content_late_reads_again(tmp_path):
    # The first rows have no value in "When": no date column until late in the file,
    # so no provisional plan; the final plan maps "When" by its content.
    lines = ["When,Sales"] + [",1"] * ROWS + ["2024-04-01,2"] * ROWS
    staged, reads = _stage(lines, tmp_path, max_reject_share=0.6)
    assert reads == 2
    assert staged.report.mapping["occurred_at"]["column"] == "When"
    assert staged.report.rows_rejected == ROWS
    assert staged.report.rejected_by_reason == {"missing_date": ROWS}
    assert staged.report.rows_loaded == ROWS


def test_bad_rows_early_within_the_limit_are_counted_exactly(tmp_path):
    # 30% of the first rows have no date (above the 20% limit so far, so the
    # provisional output is dropped), 12% of the whole file: loads, every bad row
    # quarantined once.
    head = [f"2024-05-01,{i}" if i % 10 >= 3 else f",{i}" for i in range(60_000)]
    tail = [f"2024-05-02,{i}" for i in range(90_000)]
    staged, reads = _stage(["Order Date,Sales", *head, *tail], tmp_path)
    assert reads == 2
    assert staged.report.rows_rejected == 18_000
    assert staged.report.rejected_by_reason == {"missing_date": 18_000}
    assert staged.report.rows_loaded == 132_000
    assert len(_column(staged, "row_number")) == 132_000
    rejected = staged.rejected_path.read_text().splitlines()
    assert len(rejected) == 1 + 18_000


def test_bad_rows_late_past_the_limit_fail_whole_and_stage_nothing(tmp_path):
    lines = ["Order Date,Sales"] + [f"2024-06-01,{i}" for i in range(ROWS)]
    lines += [",1"] * (ROWS // 2)
    with pytest.raises(IngestFailed) as info:
        _stage(lines, tmp_path)
    assert info.value.code == "too_many_rejects"
    assert info.value.details["rows_read"] == ROWS + ROWS // 2
    assert not list((tmp_path / "stage").glob("*.parquet"))


def test_a_file_failing_whole_leaves_no_provisional_output(tmp_path):
    # The first rows have a date and an amount; the whole file has no usable date.
    lines = ["Order Date,Sales"] + ["2024-07-01,1"] * 40_000 + ["someday,1"] * ROWS
    with pytest.raises(IngestFailed) as info:
        _stage(lines, tmp_path)
    assert info.value.code in ("no_date_column", "too_many_rejects")
    assert not list((tmp_path / "stage").glob("*.parquet"))


def test_staging_leaves_only_the_parquet_file_when_nothing_is_rejected(tmp_path):
    lines = ["Order Date,Sales"] + [f"2024-08-01,{i}" for i in range(ROWS)]
    staged, _ = _stage(lines, tmp_path)
    assert staged.rejected_path is None
    assert sorted(p.name for p in (tmp_path / "stage").iterdir()) == ["u.parquet"]
