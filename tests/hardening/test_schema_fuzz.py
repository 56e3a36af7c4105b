"""Schemathesis against /api/openapi.json on the running local stack: every generated
request is sent with a valid access token of each role (viewer, analyst, admin); no
response is a 5xx, and every response (status code, content type, headers, body) is
one the document describes."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from shared.web.openapi import build_spec
from tests.support.hardening import ROLES

# The document /api/openapi.json serves (checked below), loaded at collection so the
# operations become test ids; the requests go to the running stack.
schema = schemathesis.openapi.from_dict(build_spec())


def test_the_served_document_is_the_one_fuzzed(stack):
    import requests

    served = requests.get(stack.url("/api/openapi.json"), timeout=10)
    assert served.status_code == 200
    assert served.json() == build_spec()
FAST = settings(max_examples=5, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
DEEP = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))


# positive_data_acceptance wants a 2xx for every schema-valid body; some rules cannot
# be written in JSON Schema (a commonly used password, start after end, an unknown
# dataset), and those answer a documented 4xx instead.
EXCLUDED = [positive_data_acceptance]
# Task targets authenticate the queue before anything else, so an unknown method
# from a caller that is not the queue is a 403, never a 405 (nothing is revealed).
EXCLUDED_FOR_TASKS = [*EXCLUDED, unsupported_method]


def _call_as_every_role(case, stack, own) -> None:
    excluded = (EXCLUDED_FOR_TASKS if case.operation.path.startswith("/tasks/")
                else EXCLUDED)
    for role in ROLES:
        response = case.call_and_validate(base_url=stack.base_url, headers=own.headers[role],
                                          excluded_checks=excluded, timeout=30)
        assert response.status_code < 500, role


@schema.parametrize()
@FAST
def test_every_operation_answers_as_documented_for_every_role(case, stack, own):
    _call_as_every_role(case, stack, own)


@pytest.mark.full
@schema.parametrize()
@DEEP
def test_every_operation_answers_as_documented_deep(case, stack, own):
    _call_as_every_role(case, stack, own)
