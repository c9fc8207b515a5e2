"""Signature checking against the URL Twilio signed, directly and behind a TLS-terminating proxy."""

from __future__ import annotations

from starlette.requests import Request
from twilio.request_validator import RequestValidator

from api.twilio_auth import is_from_twilio, public_base, signed_url

TOKEN = "12345"
# The known answer the twilio library itself is tested with: this URL and form, signed with token 12345.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def _request(
    path: str,
    query: str = "",
    headers: dict[str, str] | None = None,
    scheme: str = "http",
    host: str = "127.0.0.1:8000",
) -> Request:
    raw = [(b"host", host.encode())] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": scheme,
            "path": path,
            "query_string": query.encode(),
            "headers": raw,
            "server": ("127.0.0.1", 8000),
        }
    )


def test_known_answer_from_twilio_documentation():
    validator = RequestValidator(TOKEN)
    assert validator.compute_signature(DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert is_from_twilio(validator, DOC_URL, DOC_PARAMS, DOC_SIGNATURE)


def test_wrong_missing_or_tampered_signature_is_refused():
    validator = RequestValidator(TOKEN)
    good = validator.compute_signature(DOC_URL, DOC_PARAMS)
    assert not is_from_twilio(validator, DOC_URL, DOC_PARAMS, None)
    assert not is_from_twilio(validator, DOC_URL, DOC_PARAMS, "")
    assert not is_from_twilio(validator, DOC_URL, {**DOC_PARAMS, "Digits": "9"}, good)
    assert not is_from_twilio(RequestValidator("other-token"), DOC_URL, DOC_PARAMS, good)
    assert not is_from_twilio(validator, DOC_URL.replace("https", "http"), DOC_PARAMS, good)


def test_behind_a_proxy_the_forwarded_scheme_and_host_are_what_twilio_signed():
    # What api.forwarded makes of a trusted proxy's X-Forwarded-Proto/Host (tests/test_hardening_proxy.py).
    request = _request("/twilio/step/menu/keys", "attempt=1", scheme="https", host="hotline.example.org")
    assert signed_url(request, None) == "https://hotline.example.org/twilio/step/menu/keys?attempt=1"
    assert public_base(request, None) == "https://hotline.example.org"


def test_the_configured_public_url_wins_over_headers():
    request = _request("/twilio/voice", headers={"X-Forwarded-Host": "spoofed.example"})
    assert signed_url(request, "https://12351.example.cn/") == "https://12351.example.cn/twilio/voice"


def test_without_proxy_headers_the_request_url_is_used():
    assert signed_url(_request("/twilio/voice"), None) == "http://127.0.0.1:8000/twilio/voice"
