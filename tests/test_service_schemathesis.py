"""Schemathesis against the app's live OpenAPI, in-process, with valid tokens: generated requests
for every operation must get no server error and no answer that breaks the schema.

The app runs over the hand-built snapshot without a model, so /readyz and POST /v1/scoring answer
503 with a reason, as documented; any other 5xx fails. (The pytest plugin's lazy fixtures do not
work with this pytest, so each operation's strategy is driven by hypothesis directly.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service_support import start_service

EXAMPLES = 12
NOT_READY_HERE = {("GET", "/readyz"), ("POST", "/v1/scoring")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module", params=["admin", "inv_lingui", "auditor"])
def live(request, tmp_path_factory, hand_snapshot):
    home = tmp_path_factory.mktemp(f"st-{request.param}")
    with start_service(f"sqlite:///{home / 'st.db'}", home, hand_snapshot) as h:
        token = h.headers(request.param)
        spec = h.get(request.param, "/openapi.json")  # the live document, fetched with a token like any client
        assert spec.status_code == 200
        yield h, token, spec.json()


def _send(harness, token, case):
    kw = case.as_transport_kwargs(base_url="http://testserver", headers=token)
    return harness.client.request(kw["method"], kw["url"], headers=kw.get("headers"), params=kw.get("params"),
                                  json=kw.get("json"), content=kw.get("data"), cookies=None)


def _explore(op, harness, token, not_ready: bool) -> None:
    @given(case=op.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        response = _send(harness, token, case)
        if not_ready:
            assert response.status_code != 500, response.text
            case.validate_response(response, checks=CHECKS[1:])
        else:
            case.validate_response(response, checks=CHECKS)

    check()


def test_no_server_error_and_no_schema_violation(live):
    harness, token, spec = live
    schema = schemathesis.openapi.from_dict(spec)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 30
    failures = []
    for op in operations:
        try:
            _explore(op, harness, token, (op.method.upper(), op.path) in NOT_READY_HERE)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation's failure, reported together
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert not failures, "\n\n".join(failures)
