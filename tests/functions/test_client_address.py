"""The caller's address for rate limits, on both ways into a deployed API function,
with the settings terraform deploys (terraform/locals.tf, terraform/variables.tf).

Headers are modelled as Google documents them: Google's front end appends the
address it was connected from to X-Forwarded-For
(https://cloud.google.com/functions/docs/reference/headers). On a direct run.app call
that is the caller; through a Firebase Hosting rewrite it is the Hosting CDN node,
which itself appended the caller just before. Entries further left are the client's.
"""

from __future__ import annotations

import pytest

from tests.infra.terraform_config import load

# The socket peer on Cloud Run is Google's own infrastructure, the same for everyone.
PEER = {"REMOTE_ADDR": "169.254.1.1"}
# Two Hosting CDN nodes inside the deployed trusted ranges (151.101.0.0/16).
EDGE, OTHER_EDGE = "151.101.66.10", "151.101.130.7"
BAD_LOGIN = {"email": "x@example.com", "password": "not the password"}


def direct(caller: str, sent: str = "") -> dict[str, str]:
    """A call to the run.app URL: the front end appends the caller."""
    return {"X-Forwarded-For": f"{sent}, {caller}" if sent else caller}


def via_hosting(caller: str, edge: str = EDGE, sent: str = "") -> dict[str, str]:
    """A call through Hosting: the CDN appends the caller, the front end the CDN node."""
    chain = f"{caller}, {edge}"
    return {"X-Forwarded-For": f"{sent}, {chain}" if sent else chain}


@pytest.fixture
def deployed(setenv):
    """The client-address settings exactly as terraform gives them to every function."""
    cfg = load()
    env = cfg.locals["common_environment"]
    assert env["TIDEMARK_FORWARDED_BY_FRONT_END"] == "true"
    assert env["TIDEMARK_TRUSTED_PROXY_NETWORKS"] == '${join(",", var.trusted_proxy_networks)}'
    networks = cfg.variables["trusted_proxy_networks"]["default"]
    setenv("TIDEMARK_FORWARDED_BY_FRONT_END", env["TIDEMARK_FORWARDED_BY_FRONT_END"])
    setenv("TIDEMARK_TRUSTED_PROXY_NETWORKS", ",".join(networks))
    setenv("TIDEMARK_RATE_LOGIN_IP", "1/600")
    # Keep the per-account limit out of the way: these tests are about addresses.
    setenv("TIDEMARK_RATE_LOGIN_ACCOUNT", "1000/600")


@pytest.fixture
def client(function_client, deployed):
    return function_client("auth", "auth_http")


def login(client, headers) -> int:
    return client.post("/api/auth/login", json=BAD_LOGIN, headers=headers,
                       environ_base=PEER).status_code


def test_callers_behind_one_hosting_edge_have_their_own_budgets(client):
    assert login(client, via_hosting("198.51.100.1")) == 401
    assert login(client, via_hosting("198.51.100.2")) == 401
    assert login(client, via_hosting("198.51.100.1")) == 429


def test_one_caller_is_one_address_through_any_hosting_edge_or_directly(client):
    assert login(client, via_hosting("198.51.100.3", edge=EDGE)) == 401
    assert login(client, via_hosting("198.51.100.3", edge=OTHER_EDGE)) == 429
    assert login(client, direct("198.51.100.3")) == 429


def test_direct_callers_have_their_own_budgets(client):
    assert login(client, direct("203.0.113.1")) == 401
    assert login(client, direct("203.0.113.2")) == 401
    assert login(client, direct("203.0.113.1")) == 429


def test_a_forwarded_for_sent_directly_does_not_choose_the_address(client):
    assert login(client, direct("203.0.113.9")) == 401
    for sent in ("192.0.2.1", "192.0.2.2, 192.0.2.3", "not-an-address",
                 # posing as a Hosting edge that forwarded someone else
                 f"192.0.2.4, {EDGE}"):
        assert login(client, direct("203.0.113.9", sent=sent)) == 429, sent


def test_a_forwarded_for_sent_through_hosting_does_not_choose_the_address(client):
    assert login(client, via_hosting("198.51.100.9")) == 401
    for sent in ("192.0.2.1", f"192.0.2.5, {OTHER_EDGE}"):
        assert login(client, via_hosting("198.51.100.9", sent=sent)) == 429, sent


def test_without_a_front_end_the_socket_peer_is_the_caller(function_client, setenv):
    # The local stack: no front end appends anything, so the header is the client's.
    setenv("TIDEMARK_RATE_LOGIN_IP", "1/600")
    setenv("TIDEMARK_RATE_LOGIN_ACCOUNT", "1000/600")
    client = function_client("auth", "auth_http")
    env = {"REMOTE_ADDR": "203.0.113.77"}
    assert client.post("/api/auth/login", json=BAD_LOGIN, environ_base=env,
                       headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 401
    assert client.post("/api/auth/login", json=BAD_LOGIN, environ_base=env,
                       headers={"X-Forwarded-For": "192.0.2.2"}).status_code == 429


def test_malformed_trusted_networks_fail_at_start_up():
    from pydantic import ValidationError

    from shared.settings import Settings

    with pytest.raises(ValidationError):
        Settings(trusted_proxy_networks="151.101.0.0/16,not-a-network")
