"""`tidemark upload` refuses clearly before any network call when it cannot proceed."""

from __future__ import annotations

from argparse import Namespace

from shared.devstack.upload import upload_command


def _args(**kw):
    base = {"file": "missing.csv", "dataset": "sales", "replace": False,
            "server": "http://127.0.0.1:9", "email": None, "password": None,
            "no_wait": False}
    return Namespace(**{**base, **kw})


def test_missing_file_is_an_error(tmp_path, capsys):
    assert upload_command(_args(file=str(tmp_path / "nope.csv"))) == 1
    assert "no such file" in capsys.readouterr().err


def test_credentials_are_required(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TIDEMARK_TOKEN", raising=False)
    monkeypatch.delenv("TIDEMARK_PASSWORD", raising=False)
    f = tmp_path / "a.csv"
    f.write_text("date,amount\n2024-01-01,1\n")
    assert upload_command(_args(file=str(f))) == 1
    assert "TIDEMARK_TOKEN" in capsys.readouterr().err


def test_unreachable_server_is_reported(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TIDEMARK_TOKEN", "t")
    f = tmp_path / "a.csv"
    f.write_text("date,amount\n2024-01-01,1\n")
    assert upload_command(_args(file=str(f))) == 1
    assert "cannot reach" in capsys.readouterr().err
