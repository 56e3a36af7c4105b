"""`tidemark upload` refuses clearly before any network call when it cannot proceed."""

from __future__ import annotations

import json
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


class _FakeServer:
    """Just enough of the upload API and a signed URL for one `tidemark upload`."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.put_body = b""
        self.put_headers: dict[str, str] = {}
        self.polls = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self._json(201, {"upload": {"id": "up_1", "status": "pending"},
                                 "upload_url": f"{outer.url}/put/up_1",
                                 "headers": {"Content-Type": "text/csv"}})

            def do_PUT(self) -> None:
                outer.put_headers = dict(self.headers)
                outer.put_body = self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                outer.polls += 1
                if outer.polls == 1:
                    self._json(200, {"id": "up_1", "status": "processing", "progress": 0.5})
                else:
                    self._json(200, {"id": "up_1", "status": "loaded", "dataset_name": "sales",
                                     "report": {"rows_loaded": 2}, "error": None})

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_upload_sends_the_whole_file_and_prints_the_final_report(tmp_path, capsys,
                                                                 monkeypatch):
    import shared.devstack.upload as upload

    monkeypatch.setenv("TIDEMARK_TOKEN", "t")
    monkeypatch.setattr(upload, "POLL_S", 0.0)
    content = b"date,amount\n" + b"".join(b"2024-01-%02d,%d\n" % (d, d) for d in range(1, 29))
    f = tmp_path / "a.csv"
    f.write_bytes(content)
    server = _FakeServer()
    try:
        assert upload_command(_args(file=str(f), server=server.url)) == 0
    finally:
        server.close()
    assert server.put_body == content
    assert server.put_headers["Content-Length"] == str(len(content))
    assert server.put_headers["Content-Type"] == "text/csv"
    assert server.polls == 2
    out = json.loads(capsys.readouterr().out)
    assert out == {"id": "up_1", "status": "loaded", "dataset_name": "sales",
                   "report": {"rows_loaded": 2}, "error": None}
