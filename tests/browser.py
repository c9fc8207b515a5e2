"""Playwright in a real headless Chromium (Debian's `chromium`; no browser download), for the consoles' tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Audio may start without a click (the tests press play from a script); no sandbox when run as root in CI.
CHROMIUM_ARGS = ["--autoplay-policy=no-user-gesture-required", "--no-sandbox"]


def chromium_path() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator:
    """One headless Chromium for the module; each test opens its own contexts (one per person signed in)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' (playwright)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium: apt-get install chromium (./run test installs it)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def signed_in_page(browser, base_url: str, path: str, username: str, password: str):
    """A fresh browser (own cookies) that opens `path`, is sent to the sign-in page, signs in and comes back."""
    context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.js_errors = []  # a script error on a console page fails the test (see `no_script_errors`)
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    page.goto(path)
    assert "/login?next=" in page.url, f"signed out, {path} should send the browser to sign in, not {page.url}"
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**{path}")
    return page


def no_script_errors(page) -> None:
    assert page.js_errors == [], f"script errors on {page.url}: {page.js_errors}"


def snapshot(page, name: str) -> None:
    """With HOTLINE_TEST_SCREENSHOTS=DIR, keep a full-page screenshot to look at (nothing otherwise)."""
    folder = os.environ.get("HOTLINE_TEST_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
