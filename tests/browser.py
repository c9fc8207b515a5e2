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


# Where the consoles' screenshots go for people to look at after a run (git-ignored); HOTLINE_TEST_SCREENSHOTS=DIR
# puts them elsewhere.
SCREENSHOTS = Path(__file__).resolve().parent / "output" / "screenshots"


def snapshot(page, name: str) -> Path:
    """Keep a full-page screenshot of the console as the test left it: tests/output/screenshots/<name>.png."""
    folder = Path(os.environ.get("HOTLINE_TEST_SCREENSHOTS") or SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Draws text on a canvas in an element's font and returns the pixels, to tell real glyphs from the box (tofu)
# every character gets when no installed font has it.
_GLYPHS = """([selector, texts]) => {
  const family = getComputedStyle(document.querySelector(selector)).fontFamily;
  return texts.map((text) => {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 64;
    const g = canvas.getContext("2d");
    g.font = `48px ${family}`;
    g.fillText(text, 4, 52);
    return Array.from(g.getImageData(0, 0, 64, 64).data).join(",");
  });
}"""


def assert_chinese_renders(page, selector: str = "main h1") -> None:
    """The Chinese text of `selector` is drawn with real glyphs: two different characters look different, and
    neither looks like the box of a character no font has (a private-use one). Without a CJK font they are all
    the same box (./run test installs fonts-wqy-microhei)."""
    text = page.inner_text(selector)
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    assert han, f"{selector} has no Chinese text to check: {text!r}"
    first, other = han[0], "口" if han[0] != "口" else "工"
    drawn, other_drawn, box, other_box = page.evaluate(_GLYPHS, [selector, [first, other, "\ue000", "\ue001"]])
    assert box == other_box, "two characters no font has should draw the same box"
    assert drawn not in (box, other_drawn) and other_drawn != box, (
        f"the Chinese of {selector} ({first}) is drawn as boxes: install a CJK font (apt-get install "
        "fonts-wqy-microhei)"
    )


def wait_until(page, expression: str, arg=None, timeout_s: float = 60) -> None:
    """Poll a JavaScript condition until it holds (page.wait_for_function evaluates strings with `eval`,
    which the consoles' content security policy forbids; page.evaluate is not subject to it)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        page.wait_for_timeout(50)
