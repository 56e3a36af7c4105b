"""Write schema/business_data.json from shared/schema.py (the one source of truth).

Terraform reads the file for the BigQuery table. `--check` exits 1 when the file is
missing or stale instead of writing it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "schema" / "business_data.json"


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from shared.schema import bigquery_schema_json

    # BigQuery drops empty descriptions; leaving them out keeps terraform plans quiet.
    columns = [{k: v for k, v in column.items() if not (k == "description" and not v)}
               for column in bigquery_schema_json()]
    return json.dumps(columns, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="fail if the file is not current instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else None
    if args.check:
        if current != text:
            print(f"{SCHEMA_FILE.relative_to(ROOT)} is stale: run scripts/generate_schema.py",
                  file=sys.stderr)
            return 1
        return 0
    if current != text:
        SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
