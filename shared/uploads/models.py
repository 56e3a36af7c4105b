"""Request and response bodies of the upload API. The create body's checks keep the
messages clients have always read; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shared.schema import ROLES
from shared.web.models import ErrorDetail, RequestModel, problem

MODES = ("append", "replace")
# application/vnd.ms-excel is both .xls and what browsers on Windows call a .csv; the
# ingest tells them apart by the file's bytes (shared.ingest.workbooks).
CONTENT_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel",
                 "text/tab-separated-values", "text/x-csv", "application/octet-stream",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "application/vnd.oasis.opendocument.spreadsheet")
# Workbook content types a preview takes whole (shared.ingest.workbooks has the same).
WORKBOOK_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "application/vnd.ms-excel", "application/vnd.oasis.opendocument.spreadsheet")
# Excel caps a sheet name at 31 characters; LibreOffice allows longer ones.
SHEET_NAME_MAX = 255


def _filename(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255 \
            or any(ord(c) < 32 for c in value):
        raise problem("a file name of 1 to 255 printable characters is required")
    return value.strip()


def _size(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise problem("a positive integer is required")
    return value


def _content_type(value: Any) -> str:
    # Browsers add parameters ("text/csv; charset=utf-8"); the signed URL binds the bare type.
    ctype = value.split(";")[0].strip().lower() if isinstance(value, str) else value
    ctype = "text/csv" if ctype is None else ctype
    if ctype not in CONTENT_TYPES:
        raise problem("must be one of " + ", ".join(CONTENT_TYPES))
    return ctype


def _sheet(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > SHEET_NAME_MAX:
        raise problem(f"a sheet name of 1 to {SHEET_NAME_MAX} characters is required")
    return value


def _dataset(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 100:
        raise problem("a dataset name of 1 to 100 characters is required")
    return " ".join(value.split())


def _mode(value: Any) -> str:
    if value not in MODES:
        raise problem("must be append or replace")
    return value


def _mapping(value: Any) -> dict[str, str | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise problem("must be an object of role -> column name (or null)")
    from shared.ingest.mapping import MAPPABLE  # loads Arrow: only when a body is checked

    found = []
    for role, col in value.items():
        if role not in MAPPABLE:
            found.append(f"unknown role {role!r}; roles: {', '.join(MAPPABLE)}")
        elif col is not None and (not isinstance(col, str) or not col.strip()):
            found.append(f"the column for {role!r} must be a column name or null")
    if found:
        raise problem(*found)
    return value


def _boolean(value: Any) -> bool:
    # `0 in (True, False)` holds in Python: only the JSON booleans themselves pass.
    if value is not True and value is not False:
        raise problem("must be true or false")
    return value


def _one_of(allowed: tuple[Any, ...], message: str):
    def check(value: Any) -> Any:
        if value not in allowed:
            raise problem(message)
        return value
    return BeforeValidator(check)


# shared.ingest.mapping.MAPPABLE, spelled from its parts: importing it here would load
# Arrow when the function starts (tests/functions/test_openapi.py checks they agree).
Role = Literal[(*ROLES, "unit_price")]  # type: ignore[valid-type]


class UploadCreateRequest(RequestModel):
    """Start an upload. Unknown fields are ignored (older clients send extras)."""

    model_config = ConfigDict(extra="ignore")
    missing_messages: ClassVar[dict[str, str]] = {
        "filename": "a file name of 1 to 255 printable characters is required",
        "size_bytes": "a positive integer is required"}

    filename: Annotated[str, BeforeValidator(_filename)] = Field(
        json_schema_extra={"minLength": 1, "maxLength": 255})
    size_bytes: Annotated[int, BeforeValidator(_size)] = Field(
        json_schema_extra={"minimum": 1},
        description="Exact size of the file; at most the configured limit (default 2 GiB)")
    content_type: Annotated[Literal[CONTENT_TYPES] | None,  # type: ignore[valid-type]
                            BeforeValidator(_content_type)] = Field(
        default="text/csv", description="null: text/csv")
    dataset: Annotated[str, BeforeValidator(_dataset)] = Field(
        default="sales", json_schema_extra={"minLength": 1, "maxLength": 100},
        description="Dataset name; created on first use")
    mode: Annotated[Literal["append", "replace"], BeforeValidator(_mode)] = "append"
    mapping: Annotated[dict[Role, str | None] | None, BeforeValidator(_mapping)] = Field(
        default=None, description="Role -> the file's column name (null: do not map that "
                                  "role). Overrides the inferred mapping; null or absent: "
                                  "infer it.")
    date_order: Annotated[Literal["DMY", "MDY"] | None,
                          _one_of((None, "DMY", "MDY"), "must be DMY or MDY")] = Field(
        default=None, description="Settles a date column whose day/month order is ambiguous")
    decimal_separator: Annotated[Literal[".", ","] | None,
                                 _one_of((None, ".", ","), "must be '.' or ','")] = None
    sheet: Annotated[str | None, BeforeValidator(_sheet)] = Field(
        default=None, json_schema_extra={"maxLength": SHEET_NAME_MAX},
        description="A workbook's sheet to load (the preview lists them); null: its "
                    "first visible worksheet. Ignored for CSV files")
    keep_rows_without_amount: Annotated[
        bool, BeforeValidator(_boolean)] = Field(
        default=False, description="Load sale lines whose amount is empty or a null token "
        "(counted in the report as rows_without_amount) instead of rejecting them as "
        "missing_amount")
    confirm_duplicate: Annotated[bool, BeforeValidator(_boolean)] = \
        Field(default=False, description="Load an append even when the same content is "
              "already loaded into the dataset (otherwise it fails as duplicate_content), "
              "and keep its lines whose order ids are already loaded")

    @classmethod
    def error_message(cls, fields: dict[str, list[str]]) -> str:
        return "the upload request is invalid: " + "; ".join(
            f"{k}: {', '.join(v)}" for k, v in fields.items())


# ----------------------------------------------------------------------- responses

class UploadReportExample(BaseModel):
    row_number: int | None = None
    column: str | None = None
    value: str | None = None
    reason: str


class UploadMappedColumn(BaseModel):
    column: str
    by: Literal["header", "content", "user", "derived"]


class UploadColumn(BaseModel):
    column: str
    type: Literal["number", "date", "text", "empty"]
    decimal_separator: str | None = None
    date_format: Literal["iso", "numeric", "month", "serial"] | None = None
    date_order: Literal["DMY", "MDY", "ambiguous"] | None = None


class UploadRole(BaseModel):
    status: Literal["mapped", "derived", "not_found"]
    column: str | None = None
    by: Literal["header", "content", "user", "derived"] | None = Field(
        default=None, description="header: named by its header; content: recognised by "
        "its values; user: chosen in the upload's mapping; derived: quantity x unit price")
    impact: str | None = Field(default=None, description="What a role not found costs "
                               "the dashboard")
    note: str | None = None


class UploadColumnQuality(UploadColumn):
    role: str | None = None
    null_count: int | None = None
    invalid_count: int | None = None
    invalid_examples: list[str | None] | None = None


class UploadAmounts(BaseModel):
    amounts: int
    negative_count: int
    negative_share: float
    negative_sum: str
    median_abs: float
    outlier_bound: float | None = None
    outlier_count: int
    outlier_examples: list[str]


class UploadHolidayCountry(BaseModel):
    """The tenant's holiday country as inferred from its first upload (only on that
    upload, and only when the tenant had none)"""

    country: str | None = Field(description="ISO 3166-1 alpha-2 code; null when the "
                                "file named no single country")
    reason: str = Field(description="What in the file named it, or why none was chosen")
    applied: bool = Field(description="Whether the tenant settings were changed")


class UploadReport(BaseModel):
    """What the ingest read, loaded and rejected, and how it understood the file"""

    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_rejected: int | None = None
    rejected_by_reason: dict[str, int] | None = Field(
        default=None, description="Reasons: column_count, missing_date, invalid_date, "
        "date_out_of_range (before 1980 or from 2100 on), "
        "invalid_amount, missing_amount, invalid_quantity, invalid_unit_price, "
        "missing_measure, duplicate_order_line")
    examples: list[UploadReportExample] | None = None
    mapping: dict[str, UploadMappedColumn] | None = None
    columns: list[UploadColumnQuality] | None = None
    warnings: list[str] | None = None
    warning_count: int | None = None
    roles: dict[str, UploadRole] | None = Field(
        default=None, description="Every mappable role, found or not")
    amounts: UploadAmounts | dict[str, Any] | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = Field(default=None, description="A workbook: the sheet loaded "
                              "(row numbers are its rows)")
    sheets: list[str] | None = None
    rejected_by_column: dict[str, int] | None = Field(
        default=None, description="Rejected rows per column at fault")
    rows_without_quantity: int | None = Field(
        default=None, description="Loaded lines with no quantity (allowed)")
    rows_without_amount: int | None = Field(
        default=None, description="Loaded lines with no amount: kept by "
        "keep_rows_without_amount, or derived from a missing quantity or unit price")
    rows_amount_from_price: int | None = Field(
        default=None, description="Loaded lines whose empty amount was taken from "
        "quantity x unit price")
    holiday_country: UploadHolidayCountry | None = None


class UploadError(ErrorDetail):
    code: str = Field(description="e.g. empty_file, not_text, no_header, no_data_rows, "
                      "no_date_column, no_measure_column, ambiguous_date_format, "
                      "too_many_rejects, mapping_column_missing, mapping_type_mismatch, "
                      "parse_error, encoding_error, object_missing, duplicate_content "
                      "(details: the earlier upload_id, filename, loaded_at)")
    details: Any = None


class UploadOverlap(BaseModel):
    """An earlier upload with rows in this upload's dates"""

    upload_id: str
    first: str
    last: str
    rows: int = Field(description="The earlier upload's rows in those dates")


class Upload(BaseModel):
    """One upload with its status, progress and validation report"""

    id: str
    tenant_id: str
    dataset_id: str
    dataset_name: str
    filename: str
    size_bytes: int
    content_type: str
    mode: Literal["append", "replace"]
    mapping: dict[str, str | None] | None = None
    date_order: str | None = None
    decimal_separator: str | None = None
    sheet: str | None = None
    keep_rows_without_amount: bool | None = None
    status: Literal["pending", "uploaded", "processing", "loaded", "failed"]
    progress: float | None = Field(default=None, ge=0, le=1)
    created_at: datetime
    updated_at: datetime
    created_by: str
    bucket: str | None = None
    object_name: str
    generation: str | None = None
    received_bytes: int | None = None
    dataset_version: int | None = None
    upload_expires_at: datetime | None = None
    report: UploadReport | None = None
    warning_count: int = Field(default=0, description="Warnings in the report; a loaded "
                               "upload with warnings is loaded with warnings")
    error: UploadError | None = None
    confirm_duplicate: bool | None = None
    fingerprint: str | None = Field(default=None, description="SHA-256 of the file's bytes")
    first_date: str | None = Field(default=None, description="First business date loaded")
    last_date: str | None = Field(default=None, description="Last business date loaded")
    row_count: int | None = Field(default=None, description="Rows this upload loaded")
    duplicate_order_lines: int | None = Field(
        default=None, description="Lines left out because their order id was already "
        "loaded (rejected as duplicate_order_line)")
    overlaps: list[UploadOverlap] | None = None


class UploadCreated(BaseModel):
    """The pending upload and how to send the file"""

    upload: Upload
    upload_url: str = Field(json_schema_extra={"format": "uri"})
    method: Literal["PUT"]
    headers: dict[str, str] = Field(description="Headers the PUT must carry exactly")
    expires_at: datetime


class UploadPage(BaseModel):
    """One page of uploads, newest first"""

    items: list[Upload]
    next_page_token: str | None


class UploadListQuery(BaseModel):
    page_size: int = Field(default=20, ge=1, le=100)
    page_token: str | None = Field(default=None, pattern="^[0-9]{0,9}$",
                                   description="next_page_token of the previous page")


class UploadDeleted(BaseModel):
    """Deleted"""

    id: str
    deleted: bool
    rows_removed: int
    dataset_version: int | None = None


class UploadPreviewQuery(BaseModel):
    partial: bool = Field(default=False, description="The body is the head of a longer "
                          "file: its last, possibly cut, line is dropped")
    date_order: Literal["DMY", "MDY"] | None = None
    decimal_separator: Literal[".", ","] | None = None
    sheet: str | None = Field(default=None, max_length=SHEET_NAME_MAX,
                              description="A workbook's sheet to preview (default: the "
                                          "first visible worksheet)")


class UploadPreview(BaseModel):
    """What the ingest makes of the file's head: columns, roles, types, parsed rows"""

    columns: list[UploadColumnQuality]
    roles: dict[str, UploadRole]
    mapping: dict[str, UploadMappedColumn]
    sample_rows: list[dict[str, Any]] = Field(description="Up to 10 rows as they would "
                                              "load (canonical columns)")
    rows_read: int
    rows_rejected: int
    rejected_by_reason: dict[str, int]
    warnings: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    partial: bool
    sheet: str | None = Field(default=None, description="A workbook: the sheet read")
    sheets: list[str] = Field(default_factory=list, description="A workbook: its visible "
                              "worksheets, in order (empty for a CSV)")
    error: UploadError | None = Field(default=None, description="Why the ingest would "
                                      "refuse the file as it is (map a column to fix it)")


class IngestTaskPayload(RequestModel):
    """What the finalize event posts to the ingest task: the object generation it
    claimed (shared.uploads.events.ingest_task_payload builds it)."""

    model_config = ConfigDict(extra="allow")

    bucket: str = Field(min_length=1, max_length=1024)
    name: str = Field(min_length=1, max_length=1024)
    generation: str = Field(min_length=1, max_length=1024)
    size: int | None = Field(default=None, ge=0)


INGEST_TASK_DOC = (
    "Ingest an uploaded file (task queue only)",
    "Enqueued by the finalize event, named ingest-{hash of bucket, object and "
    "generation}. Takes over the event's claim of the object generation and runs the "
    "ingest: stream, validate, stage, load, commit, then the metrics task. A second "
    "delivery meets the claim (503 while the first runs, then status \"ignored\"). A "
    "permanent failure answers 200 with status \"failed\"; a transient one answers 503.")
