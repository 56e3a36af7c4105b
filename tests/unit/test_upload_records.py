"""The names of the upload flow: object names, document paths and task payloads are
made and read in one place, and read back exactly as they were made."""

from __future__ import annotations

import pytest

from shared import errors
from shared.settings import Settings
from shared.uploads.records import (
    TaskPayload,
    object_name,
    parse_object_name,
    rejected_name,
    uploads_path,
)

SETTINGS = Settings(backend="local", uploads_bucket="b")
UPLOAD = "up_" + "a" * 32


def test_an_object_name_parses_back_to_its_tenant_and_upload():
    assert parse_object_name("b", object_name("t-1", UPLOAD), SETTINGS) == ("t-1", UPLOAD)


@pytest.mark.parametrize(("bucket", "name"), [
    ("other", object_name("t", UPLOAD)),        # another bucket
    ("b", rejected_name("t", UPLOAD)),           # the rejected rows are no upload
    ("b", "uploads/t/up_123.csv"),               # not an upload id
    ("b", f"uploads/t/x/{UPLOAD}.csv"),          # a nested path
    ("b", f"uploads/{'t' * 65}/{UPLOAD}.csv"),   # a tenant id too long
    ("b", ""),
])
def test_other_objects_are_not_uploads(bucket, name):
    assert parse_object_name(bucket, name, SETTINGS) is None


def test_document_path_of_a_tenants_uploads():
    assert uploads_path("t") == "tenants/t/uploads"


def test_a_task_payload_round_trips_and_names_one_task_per_version():
    task = TaskPayload("t", "ds_1", 3)
    assert TaskPayload.parse(task.to_dict()) == task
    assert task.task_name("metrics") == "metrics-t-ds_1-v3"
    assert TaskPayload("t", "ds_1", 4).task_name("metrics") != task.task_name("metrics")


@pytest.mark.parametrize("payload", [
    {}, {"tenant_id": "t", "dataset_id": "d"}, {"tenant_id": "t", "dataset_id": "d",
                                                 "version": "2"},
    {"tenant_id": "t/x", "dataset_id": "d", "version": 1},
    {"tenant_id": "t", "dataset_id": "d", "version": True}])
def test_malformed_task_payloads_are_rejected(payload):
    with pytest.raises(errors.InvalidInput):
        TaskPayload.parse(payload)
