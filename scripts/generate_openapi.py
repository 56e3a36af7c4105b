"""Write the generated OpenAPI document (shared/web/openapi.py) as a static file of
the frontend build, so Firebase Hosting serves /api/openapi.json on GCP.

The default target is frontend/static/api/openapi.json: Vite copies `static/` into
`dist/` as-is (vite.config.js publicDir), and Hosting answers an exact-match static
file before it applies any rewrite, so the /api rewrites to the functions do not
shadow it ("Priority order of Hosting responses":
https://firebase.google.com/docs/hosting/full-config#hosting_priority_order).
The functions never need the generator (nor pyyaml) at run time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "frontend" / "static" / "api" / "openapi.json"


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from shared.web.openapi import generate

    return json.dumps(generate(), indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT,
                        help=f"file to write (default {DEFAULT_OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
