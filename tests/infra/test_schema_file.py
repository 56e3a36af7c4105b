"""schema/business_data.json (read by terraform for the BigQuery table) is generated
from shared/schema.py and must be current."""

from __future__ import annotations

import importlib.util
import json

from shared.schema import BUSINESS_DATA
from tests.infra.terraform_config import ROOT

SCHEMA_FILE = ROOT / "schema" / "business_data.json"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_schema",
                                                  ROOT / "scripts" / "generate_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_schema_file_matches_shared_schema_column_for_column():
    columns = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert [(c["name"], c["type"], c["mode"]) for c in columns] == [
        (c.name, c.bq_type, c.mode) for c in BUSINESS_DATA]
    for column, source in zip(columns, BUSINESS_DATA, strict=True):
        assert column.get("description", "") == source.description


def test_schema_file_is_byte_for_byte_what_the_generator_writes():
    assert _generator().main(["--check"]) == 0


def test_check_fails_on_a_stale_file_and_writing_fixes_it(tmp_path, monkeypatch):
    gen = _generator()
    stale = tmp_path / "business_data.json"
    stale.write_text("[]\n", encoding="utf-8")
    monkeypatch.setattr(gen, "SCHEMA_FILE", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0
    assert stale.read_text(encoding="utf-8") == SCHEMA_FILE.read_text(encoding="utf-8")
