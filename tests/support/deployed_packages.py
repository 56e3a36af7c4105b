"""The functions as deployed, run locally: each package built by
scripts/package_functions.py, installed into a clean virtualenv of terraform's runtime
Python, each entry point its own functions-framework process configured by the
environment terraform gives it (emulator endpoints substituted). Used by
tests/e2e/test_deployed_packages.py.
"""

from __future__ import annotations

import ast
import base64
import glob
import json
import operator
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from tests.infra.terraform_config import Config
from tests.support.emulators import tcp_open

_REF = re.compile(r'[a-z_]+(?:\.[A-Za-z0-9_]+(?:\["[^"]+"\])?)+')
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def runtime_python(cfg: Config) -> tuple[str, str | None]:
    """(version, interpreter) for terraform's function runtime, e.g. ("3.11", path);
    the interpreter is None when this machine has no such Python."""
    runtime = cfg.locals["runtime"]
    match = re.fullmatch(r"python3(\d+)", runtime)
    assert match, f"unexpected runtime {runtime!r} in terraform/locals.tf"
    version = f"3.{match.group(1)}"
    found = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/"
                                                f"python{version}")))
    return version, (found[-1] if found else shutil.which(f"python{version}"))


class TerraformEnv:
    """Evaluates the environment maps in terraform/ (locals, module arguments) for one
    environment. `values` answers what only a real apply knows (var.*, account emails,
    module URIs); everything else is read from the resources' own arguments. An
    expression it cannot resolve fails the test: a new setting must be given its
    emulator value here, not silently dropped."""

    def __init__(self, cfg: Config, values: dict[str, str]) -> None:
        self.cfg, self.values = cfg, values

    def of_entry_point(self, target: str) -> dict[str, str]:
        [module] = [m for m in self.cfg.modules.values() if m.get("entry_point") == target]
        maps = [module["common_environment"], *module.get("environment_sets", []),
                module.get("environment", {})]
        env: dict[str, str] = {}
        for m in maps:
            if isinstance(m, str):  # "${local.name}"
                m = self.cfg.locals[m.removeprefix("${local.").removesuffix("}")]
            env.update({k: self.string(v) for k, v in m.items()})
        return env

    def string(self, template: Any) -> str:
        if not isinstance(template, str):
            return str(template)
        return re.sub(r"\$\{([^{}]*)\}", lambda m: str(self.expr(m.group(1))), template)

    def expr(self, expr: str) -> Any:
        expr = expr.strip()
        if m := re.fullmatch(r"tostring\((.*)\)", expr):
            return str(self.expr(m.group(1)))
        if m := re.fullmatch(r'join\("(.*)", (.*)\)', expr):
            return m.group(1).join(str(x) for x in self.expr(m.group(2)))
        if m := re.fullmatch(r'replace\((.*), "(.*)", "(.*)"\)', expr):
            return str(self.expr(m.group(1))).replace(m.group(2), m.group(3))
        if m := re.fullmatch(r"(.+?) (==|!=) (.+?) \? (.+?) : (.+)", expr):
            left, right = self.expr(m.group(1)), self.expr(m.group(3))
            same = str(left) == str(right)
            return self.expr(m.group(4) if same == (m.group(2) == "==") else m.group(5))
        if m := re.fullmatch(r'"([^"]*)"', expr):
            return m.group(1)
        if expr in self.values:
            return self.values[expr]
        if _REF.fullmatch(expr):
            return self.reference(expr)
        arithmetic = _REF.sub(lambda m: str(self.reference(m.group(0))), expr)
        return _arith(ast.parse(arithmetic, mode="eval").body)

    def reference(self, ref: str) -> Any:
        if ref in self.values:
            return self.values[ref]
        kind, _, rest = ref.partition(".")
        if kind == "var":
            return self.values.get(ref, self.cfg.variables[rest].get("default"))
        if kind == "local":
            return self.string(self.cfg.locals[rest])
        rtype, name_attr = kind, rest
        name, _, attr = name_attr.partition(".")
        name = re.sub(r'\["[^"]+"\]$', "", name)
        body = self.cfg.resources.get((rtype, name))
        if body is not None and isinstance(body.get(attr), str):
            return self.string(body[attr])
        raise AssertionError(f"no emulator value for terraform expression {ref!r}")


def _arith(node: ast.AST) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left), _arith(node.right))
    raise AssertionError(f"unsupported terraform arithmetic: {ast.unparse(node)}")


def install(python: str, package_dir: Path, venv: Path) -> Path:
    """A clean virtualenv of `python` with only the package's requirements.txt."""
    import uv

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    subprocess.run([uv.find_uv_bin(), "venv", "--quiet", "--python", python, str(venv)],
                   check=True, capture_output=True, timeout=300, env=env)
    done = subprocess.run([uv.find_uv_bin(), "pip", "install", "--quiet", "--python",
                           str(venv / "bin" / "python"), "-r",
                           str(package_dir / "requirements.txt")],
                          capture_output=True, text=True, timeout=1200, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


@dataclass
class FunctionProcess:
    target: str
    url: str
    proc: subprocess.Popen
    log: Path

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_function(venv: Path, package_dir: Path, target: str, signature: str, port: int,
                   env: dict[str, str], log: Path) -> FunctionProcess:
    """`functions-framework --target ...` in the unpacked package, with `env` and
    nothing of this process's environment but PATH and HOME."""
    base = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(venv / "bin" / "functions-framework"), "--target", target,
             "--signature-type", signature, "--host", "127.0.0.1", "--port", str(port)],
            cwd=package_dir, env={**base, **env}, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
    return FunctionProcess(target, f"http://127.0.0.1:{port}", proc, log)


def wait_listening(fn: FunctionProcess, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert fn.proc.poll() is None, f"{fn.target} exited:\n{fn.tail()}"
        if tcp_open(int(fn.url.rsplit(":", 1)[1])):
            return
        time.sleep(0.2)
    raise AssertionError(f"{fn.target} did not listen within {timeout_s}s:\n{fn.tail()}")


class EventarcRelay:
    """Eventarc's part of a GCS trigger: it receives the Pub/Sub push of a Cloud Storage
    notification and delivers it to the function as a
    google.cloud.storage.object.v1.finalized CloudEvent (binary mode), answering the
    push with the function's status so a failure is redelivered
    (https://cloud.google.com/eventarc/docs/cloudevents). `deliveries` records each
    (object name, status)."""

    def __init__(self, target_url: str) -> None:
        self.target_url = target_url
        self.deliveries: list[tuple[str, int]] = []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = relay.deliver(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/push"

    def deliver(self, push: dict[str, Any]) -> int:
        from cloudevents.conversion import to_binary

        from tests.support.finalize_events import to_cloud_event

        msg = push["message"]
        message = {"id": msg.get("messageId") or msg.get("message_id"),
                   "attributes": msg.get("attributes", {}),
                   "data": json.loads(base64.b64decode(msg["data"]))}
        if message["attributes"].get("eventType") != "OBJECT_FINALIZE":
            return 204  # the trigger filters on finalize events only
        headers, body = to_binary(to_cloud_event(message))
        resp = requests.post(self.target_url, headers=headers, data=body, timeout=600)
        self.deliveries.append((message["attributes"].get("objectId", ""), resp.status_code))
        return 204 if resp.ok else 503

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
