"""The hardening suites' own local stack: `tidemark serve` in a thread on a free
loopback port (worker included), two tenants with a user of every role, and every
log line the stack writes while a module runs. At the end of each module the lines
are checked for leaked credentials (see logscan)."""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.hardening.logscan import leaks, stored_secret_values, token_parts
from tests.support.hardening import PASSWORD
from tests.support.mailbox import link_token
from tests.support.stack_runner import start_stack, stop_stack


class LineCollector(logging.Handler):
    """Keeps every record as the JSON line production would print."""

    def __init__(self) -> None:
        from shared.log import JsonFormatter

        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._guard:
            self.lines.append(line)


@dataclass
class Tenant:
    id: str
    users: dict[str, dict[str, Any]]          # role -> {"id", "email", "token"}
    headers: dict[str, dict[str, str]]        # role -> Authorization header


@dataclass
class Stack:
    base_url: str
    data_dir: Path
    logs: LineCollector
    known_secrets: set[str] = field(default_factory=set)
    tenants: list[Tenant] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def remember(self, *values: str) -> None:
        """Values that must never be logged (tokens, passwords, signatures)."""
        for v in values:
            if v:
                self.known_secrets.update(token_parts(v))

    def session_from(self, body: dict[str, Any]) -> None:
        self.remember(body.get("access_token", ""), body.get("refresh_token", ""))


def _register(stack: Stack, label: str) -> Tenant:
    email = f"admin-{label}-{secrets.token_hex(3)}@hardening.example.com"
    r = requests.post(stack.url("/api/auth/register"), timeout=30,
                      json={"email": email, "password": PASSWORD, "tenant_name": label})
    assert r.status_code == 201, r.text
    body = r.json()
    stack.session_from(body)
    tid = body["tenant"]["id"]
    users = {"admin": {"id": body["user"]["id"], "email": email,
                       "token": body["access_token"]}}
    admin = {"Authorization": f"Bearer {body['access_token']}"}
    # An unconfirmed admin may not create users: open the link the sign-up mailed.
    token = link_token(stack.data_dir / "mail", email, "/verify-email")
    stack.remember(token)
    verified = requests.post(stack.url("/api/auth/email/verify"), json={"token": token},
                             timeout=30)
    assert verified.status_code == 200, verified.text
    for role in ("analyst", "viewer"):
        em = f"{role}-{label}-{secrets.token_hex(3)}@hardening.example.com"
        made = requests.post(stack.url("/api/auth/users"), headers=admin, timeout=30,
                             json={"email": em, "role": role, "password": PASSWORD})
        assert made.status_code == 201, made.text
        login = requests.post(stack.url("/api/auth/login"), timeout=30,
                              json={"email": em, "password": PASSWORD})
        assert login.status_code == 200, login.text
        stack.session_from(login.json())
        users[role] = {"id": made.json()["user"]["id"], "email": em,
                       "token": login.json()["access_token"]}
    headers = {role: {"Authorization": f"Bearer {u['token']}"} for role, u in users.items()}
    return Tenant(tid, users, headers)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from shared.auth.tokens import clear_key_cache
    from shared.log import configure
    from shared.settings import get_settings

    get_settings.cache_clear()
    clear_key_cache()
    configure()
    collector = LineCollector()
    logging.getLogger().addHandler(collector)
    data_dir = tmp_path_factory.mktemp("hardening") / "data"
    local, thread = start_stack(data_dir, threads=16)
    settings = local.settings
    st = Stack(settings.base_url, data_dir, collector)
    st.remember(PASSWORD)
    st.tenants = [_register(st, "own"), _register(st, "other")]
    try:
        yield st
    finally:
        stop_stack(local, thread)
        logging.getLogger().removeHandler(collector)
    found = leaks(collector.lines, st.known_secrets | set(stored_secret_values(data_dir)))
    assert collector.lines, "the stack wrote no log lines: the leak check would be vacuous"
    assert not found, "credentials in log lines:\n" + "\n".join(found[:10])


@pytest.fixture(scope="module")
def own(stack) -> Tenant:
    return stack.tenants[0]


@pytest.fixture(scope="module")
def other(stack) -> Tenant:
    return stack.tenants[1]
