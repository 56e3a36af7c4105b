"""Whatever JSON arrives, the auth function answers with a 4xx naming the problem,
never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROUTES = [("post", "/api/auth/register"), ("post", "/api/auth/login"),
          ("post", "/api/auth/refresh"), ("post", "/api/auth/logout"),
          ("post", "/api/auth/invites/accept"), ("post", "/api/auth/users"),
          ("patch", "/api/auth/users/u_x")]
FIELDS = ["email", "password", "tenant_name", "name", "refresh_token", "token", "role",
          "disabled"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=40), st.sampled_from(["a@b.co", "admin", "viewer", "",
                                                           "\x00", "tmr_" + "a" * 43]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), values, max_size=5)


@pytest.fixture
def client(function_client):
    return function_client("auth", "auth_http")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), body=st.one_of(bodies, values))
def test_no_body_makes_the_auth_function_fail(client, make_user, route, body):
    method, path = route
    _, headers = make_user(role="admin")
    resp = getattr(client, method)(path, json=body, headers=headers)
    assert resp.status_code < 500, resp.get_json()
    if resp.status_code >= 400:
        error = resp.get_json()["error"]
        assert error["code"] and error["message"]
