"""`tidemark metrics`, `tidemark export` and `tidemark forecast` against a running local
stack: the same parameters as the API, printed as a table, JSON or CSV; a bad
parameter is the API's own 400, on stderr, with exit status 1."""

from __future__ import annotations

import csv
import io
import json

import pytest

from shared.devstack.cli import main
from tests.support.api_client import Api

CSV = "date,amount,quantity,Segment,Profit\n" + "".join(
    f"2024-01-{d:02d},{10 * d},{d % 3 + 1},{'Home' if d % 2 else 'Corporate'},{d - 5}\n"
    for d in range(1, 29))


@pytest.fixture
def loaded(running_stack, tmp_path, monkeypatch):
    api = Api(running_stack.settings.base_url)
    api.register("cli@views.example.com", "correct horse battery", "Views")
    path = tmp_path / "sales.csv"
    path.write_text(CSV)
    up = api.upload(path, dataset="cli sales")
    assert up["status"] == "loaded", up
    monkeypatch.setenv("TIDEMARK_TOKEN", api.token)
    return running_stack.settings.base_url, up["dataset_id"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_metrics_prints_the_same_view_as_the_api(loaded, capsys):
    server, dataset = loaded
    code, out, _ = run(capsys, "metrics", "--server", server, "--dataset", dataset,
                       "--measure", "Profit", "--agg", "sum", "--breakdown", "Segment",
                       "--start", "2024-01-01", "--end", "2024-01-28", "--format", "json")
    assert code == 0
    view = json.loads(out)
    assert view["measure"]["name"] == "Profit"
    assert view["kpis"]["measure"]["value"] == sum(d - 5 for d in range(1, 29))
    code, out, _ = run(capsys, "metrics", "--server", server, "--dataset", dataset,
                       "--measure", "Profit", "--breakdown", "Segment", "--part",
                       "breakdowns", "--format", "csv", "--start", "2024-01-01",
                       "--end", "2024-01-28")
    rows = list(csv.DictReader(io.StringIO(out)))
    got = {r["value"]: float(r["measure"]) for r in rows}
    assert got == {"Home": float(sum(d - 5 for d in range(1, 29, 2))),
                   "Corporate": float(sum(d - 5 for d in range(2, 29, 2)))}
    code, out, _ = run(capsys, "metrics", "--server", server, "--dataset", dataset,
                       "--filter", "Segment=Home", "--start", "2024-01-01",
                       "--end", "2024-01-28")
    assert code == 0 and "revenue" in out and "margin" in out
    assert f"{sum(10 * d for d in range(1, 29, 2)):,}" in out


def test_export_and_forecast_print_csv_and_tables(loaded, capsys):
    server, dataset = loaded
    code, out, _ = run(capsys, "export", "--server", server, "--dataset", dataset,
                       "--part", "series", "--start", "2024-01-01", "--end", "2024-01-28")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 28 and float(rows[0]["revenue"]) == 10.0
    code, out, err = run(capsys, "forecast", "--server", server, "--dataset", dataset,
                         "--grain", "day", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["forecast"]


def test_a_bad_parameter_is_the_apis_400_on_stderr(loaded, capsys):
    server, dataset = loaded
    code, out, err = run(capsys, "metrics", "--server", server, "--dataset", dataset,
                         "--measure", "Nope")
    assert code == 1 and out == ""
    assert "400 unknown_measure" in err
