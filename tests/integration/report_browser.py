"""An HTML report as the on-call engineer sees it: opened in a real headless Chromium
(tests/support/headless_chromium.py), the console errors, what is on the screen, and a screenshot
under tests/output/screenshots/. Used by the report tests of the recipes."""
from __future__ import annotations

import pathlib

import pytest

from tests.support.headless_chromium import HeadlessChromium, chromium_binary, png_size

SCREENSHOTS = pathlib.Path(__file__).resolve().parents[1] / "output" / "screenshots"
# What a person sees, read from the laid-out page: each element's box, and whether the element
# drawn at the centre of a chart's largest bar is that bar (not hidden, clipped or covered).
PAGE_FACTS = """(() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return {w: r.width, h: r.height, x: r.x, y: r.y}; };
  const shown = (el) => { const b = box(el); return b.w > 0 && b.h > 0 && getComputedStyle(el).visibility !== 'hidden'; };
  const table = document.querySelector('table.jobs');
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
    const bars = [...svg.querySelectorAll('rect.bar')];
    const area = (b) => b.getBBox().width * b.getBBox().height;
    let tallest = null;
    for (const b of bars) { if (!tallest || area(b) > area(tallest)) tallest = b; }
    let onTop = null;
    if (tallest && area(tallest) > 0) {
      tallest.scrollIntoView({block: 'center'});
      const r = tallest.getBoundingClientRect();
      onTop = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === tallest;
    }
    return {cls: svg.getAttribute('class'), shown: shown(svg), box: box(svg), bars: bars.length,
            statuses: bars.map((b) => b.dataset.status || ''), points: svg.querySelectorAll('circle.point').length,
            marks: [...svg.querySelectorAll('line.failure')].map((m) => Number(m.dataset.timestamp)),
            tallest_on_top: onTop, within_page: box(svg).x >= 0 && box(svg).x + box(svg).w <= document.documentElement.scrollWidth};
  });
  window.scrollTo(0, 0);
  const findings = [...document.querySelectorAll('.findings')];
  return {title: document.title, table_shown: !!table && shown(table), table_text: table ? table.innerText : '',
          charts: charts, findings_shown: findings.length > 0 && findings.every(shown),
          findings_text: findings.map((f) => f.innerText).join('\\n')};
})()"""


def open_in_chromium(page_path):
    """The report in a real headless Chromium: its console errors, the facts above and a screenshot."""
    if not chromium_binary():
        pytest.skip("chromium is not installed (Debian package chromium; tests/support/bootstrap.sh installs it)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with HeadlessChromium() as browser:
        page = browser.open(page_path)
        facts = page.evaluate(PAGE_FACTS)
        facts["console_errors"] = page.console_errors
        shot = page.screenshot(SCREENSHOTS / (page_path.stem + ".png"))
        facts["screenshot"] = png_size(shot)
        facts["page_size"] = page.evaluate("[document.documentElement.scrollWidth, "
                                           "document.documentElement.scrollHeight]")
    return facts
