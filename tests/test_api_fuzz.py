"""The staff API fuzzed from its own OpenAPI description (schemathesis), signed in as an admin against the real
service: valid and invalid parameters and bodies, and never a server error (5xx). A bounded budget per operation
keeps it to a minute or two; no response-time check (speed is `bench/`'s).

Left out: Twilio's webhooks (signed by Twilio, not the staff API; their odd inputs are tested with real
signatures elsewhere), the Media Streams WebSocket (not in the description), and signing in and out (the fuzzer
would end its own session; bad sign-in bodies are in tests/test_api_input.py)."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.running_service import TEST_PASSWORD, RunningService

EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = RunningService(
        tmp_path_factory.mktemp("var"), {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_QA_SCAN_SECONDS": "3600"}
    )
    svc.start()
    svc.add_user("fuzz-admin", "admin")
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def admin(service) -> requests.Session:
    """A signed-in admin: the session cookie, and the CSRF token on every request."""
    session = requests.Session()
    signed = session.post(
        f"{service.url}/login", json={"username": "fuzz-admin", "password": TEST_PASSWORD}, timeout=30
    )
    assert signed.status_code == 200, signed.text
    session.headers["X-CSRF-Token"] = signed.json()["csrf"]
    return session


@pytest.fixture(scope="module")
def operations(service, admin) -> list:
    """The staff API's operations, from the description the running service gives a signed-in admin."""
    description = admin.get(f"{service.url}/openapi.json", timeout=30)
    assert description.status_code == 200, description.text
    schema = schemathesis.openapi.from_dict(description.json())
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if not op.path.startswith("/twilio/") and op.path not in ("/login", "/logout")]


def test_no_input_makes_a_server_error(service, admin, operations):
    assert len(operations) > 30  # the whole staff API, not an empty description
    errors: list[str] = []
    sent = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # No shrinking and no example database: a bounded, repeatable run; every 5xx is written down.
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                response = case.call(base_url=service.url, session=admin, timeout=60)
                sent.append(response.status_code)
                if response.status_code >= 500:
                    errors.append(
                        f"{operation.method.upper()} {operation.path} ({mode.value}) → "  # noqa: B023
                        f"{response.status_code}: {case.as_curl_command()}"
                    )

            try:
                run()
            except Unsatisfiable:  # nothing invalid to send (no parameters, or none that can be wrong)
                pass
    assert len(sent) > 10 * len(operations)  # the budget was spent on requests, not skipped
    print(f"{len(sent)} requests to {len(operations)} operations, {len(errors)} server errors")
    distinct = sorted({e.split(" →")[0] for e in errors})
    assert not errors, f"{len(errors)} server errors on {len(distinct)} operations:\n" + "\n".join(errors[:40])
