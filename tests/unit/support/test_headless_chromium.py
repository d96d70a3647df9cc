"""tests/support/headless_chromium.py against the real headless Chromium: it reports what a page's
console says and what failed to load (so the report tests' "no console error" can fail), reads the
laid-out page, and takes a screenshot of the whole page."""
from __future__ import annotations

import pytest

from tests.support.headless_chromium import HeadlessChromium, chromium_binary, png_size


@pytest.fixture(scope="module")
def browser():
    if not chromium_binary():
        pytest.skip("chromium is not installed (Debian package chromium; tests/support/bootstrap.sh installs it)")
    with HeadlessChromium() as running:
        yield running


def test_console_errors_exceptions_and_failed_loads_are_reported(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head><title>broken</title></head><body>"
                    "<img src='missing.png'><script>console.error('bad', 42); console.log('fine');"
                    "undefinedFunction();</script></body></html>")
    errors = browser.open(page).console_errors
    assert "console.error: bad 42" in errors
    assert any(e.startswith("exception: Uncaught") for e in errors), errors
    assert any("missing.png" in e or e.startswith("load failed") for e in errors), errors
    assert not any("fine" in e for e in errors), "console.log is not an error"


def test_a_clean_page_has_no_errors_its_layout_is_read_and_the_screenshot_is_the_whole_page(browser, tmp_path):
    page = tmp_path / "clean.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>clean</title></head>"
                    "<body style='margin:0'><div id='tall' style='height:2000px;width:300px'>x</div></body></html>")
    opened = browser.open(page)
    assert opened.console_errors == []
    assert opened.evaluate("document.title") == "clean"
    assert opened.evaluate("document.getElementById('tall').getBoundingClientRect().height") == 2000
    shot = opened.screenshot(tmp_path / "clean.png")
    width, height = png_size(shot)
    assert height == 2000 and width > 300


def test_png_size_refuses_a_file_that_is_not_a_png(tmp_path):
    (tmp_path / "x.png").write_bytes(b"GIF89a" + b"\0" * 30)
    with pytest.raises(ValueError, match="is not a PNG"):
        png_size(tmp_path / "x.png")
