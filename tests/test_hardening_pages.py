"""Every answer carries security headers; the API's description and /docs are for signed-in staff and work
offline (Swagger UI from an installed package, under the same content security policy)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser import browser_fixture, no_script_errors, signed_in_page  # noqa: F401 - the fixture
from tests.running_service import TEST_PASSWORD, RunningService, emulator_env


@pytest.fixture(scope="module")
def service(tmp_path_factory, twilio):
    svc = RunningService(
        tmp_path_factory.mktemp("var"), {**emulator_env(twilio), "HOTLINE_VOSK_MODEL_PATH": "/nonexistent"}
    )
    svc.start()
    yield svc
    svc.stop()


def _security_headers_of(answer: httpx.Response) -> None:
    policy = answer.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, answer.url
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0], policy
    assert answer.headers.get("x-frame-options") == "DENY"
    assert answer.headers.get("x-content-type-options") == "nosniff"
    assert answer.headers.get("referrer-policy")


def test_pages_api_and_static_files_carry_the_security_headers(service):
    client = service.api
    for path in ("/login", "/", "/tickets", "/api/me", "/static/console.css", "/docs", "/health"):
        answer = (
            httpx.get(service.url + path) if path in ("/login", "/health") else client.get(path, follow_redirects=False)
        )
        assert answer.status_code == 200, (path, answer.status_code)
        _security_headers_of(answer)
    # An inline script of a page runs only with the nonce its answer's policy names.
    page = client.get("/tickets")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page.text)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline if "application/json" not in attrs)


def test_the_api_description_and_its_pages_need_a_sign_in(service):
    for path in ("/openapi.json", "/docs", "/redoc"):
        answer = httpx.get(service.url + path, follow_redirects=False)
        assert answer.status_code in (303, 401), (path, answer.status_code)
        assert "paths" not in answer.text
    operator = service.operator
    schema = operator.get("/openapi.json")
    assert schema.status_code == 200 and "/api/tickets" in schema.json()["paths"]
    docs = operator.get("/docs")
    assert docs.status_code == 200
    # Nothing from another site: Swagger UI's files come from this service.
    assert not re.search(r"""(src|href)=["']https?://""", docs.text)
    for asset in re.findall(r"""(?:src|href)=["'](/static/api-docs/[^"']+)""", docs.text):
        assert httpx.get(service.url + asset).status_code == 200, asset


def test_docs_render_in_a_browser_offline_under_the_policy(service, browser):
    service.add_user("docs-reader", "inspector")
    page = signed_in_page(browser, service.url, "/docs", "docs-reader", TEST_PASSWORD)
    outside = []
    page.context.route(
        re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: (outside.append(route.request.url), route.abort())
    )
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.reload()
    page.wait_for_selector(".swagger-ui .opblock-tag")  # the operations, grouped, drawn from /openapi.json
    assert "tickets" in page.inner_text(".swagger-ui")
    assert outside == [] and violations == []
    no_script_errors(page)
    page.goto("/redoc")
    page.locator("redoc").get_by_text("/api/tickets").first.wait_for()  # ReDoc drew the operations
    # ReDoc's own "powered by" logo points to its CDN: the policy blocks it, nothing else is missing.
    assert outside == [] and [v for v in violations if "cdn.redoc.ly/redoc/logo" not in v] == []
    no_script_errors(page)
