"""Signing staff in to the running service, as a script or the consoles' pages do."""

from __future__ import annotations

import httpx


def sign_in(base_url: str, username: str, password: str) -> httpx.Client:
    """An HTTP client signed in as this account, sending the session's CSRF token on every request."""
    client = httpx.Client(base_url=base_url, timeout=10)
    response = client.post("/login", json={"username": username, "password": password})
    if response.status_code != 200:
        client.close()
        raise AssertionError(f"sign-in of {username} failed: {response.status_code} {response.text}")
    client.headers["X-CSRF-Token"] = response.json()["csrf"]
    return client
