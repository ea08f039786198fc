"""The HTML report in a real browser: headless Chromium renders a real dataset's report, takes a screenshot,
and the test fails on any console message or missing section.

Needs Debian's ``chromium`` (``.ci/system-deps.sh`` installs it; ``CHROMIUM=/path`` picks another binary). The
test skips when no browser is found, unless the environment variable ``CI`` is set: under CI it must run. Set
``ACCORD_SCREENSHOT_DIR`` to keep the screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from accord.datasets import load_dataset
from accord.report import build_report, write_report
from accord.report.render import SECTIONS

CONSOLE = re.compile(r":CONSOLE[:(]")


def chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    if os.environ.get("CI"):
        pytest.fail("headless Chromium is required under CI (run .ci/system-deps.sh, or set CHROMIUM=...)")
    pytest.skip("chromium is not installed (apt-get install chromium); the browser test runs under CI")


def run_browser(binary: str, page: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=180)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE.search(line)]


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(scope="module")
def browser() -> str:
    return chromium()


def test_console_capture_works(browser, tmp_path):
    """The check below is only worth something if a console error would be seen: prove it on a broken page."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><p>x</p><script>console.error("boom"); nope();</script></body></html>'
    )
    result = run_browser(browser, page, "--dump-dom")
    lines = console_lines(result.stderr)
    assert any("boom" in line for line in lines) and any("nope" in line for line in lines), result.stderr[
        -2000:
    ]


def test_report_of_a_real_dataset_renders_cleanly(browser, data_dir, tmp_path):
    data = load_dataset(data_dir / "dog")  # 4 classes, 109 annotators (bar chart of best/worst), gold for all
    report = build_report(data.annotations, gold=data.gold, redundancy_repeats=1, title="dog: browser test")
    page = write_report(report, tmp_path / "report.html")

    dom = run_browser(browser, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_lines(dom.stderr) == []
    for sid in SECTIONS:
        assert re.search(rf'<section id="{sid}" data-section="{sid}"><h2>[^<]+</h2>', dom.stdout), sid
    assert dom.stdout.count("<svg") >= 10
    assert "Error vs labels per item" in dom.stdout

    shot = tmp_path / "report.png"
    result = run_browser(browser, page, f"--screenshot={shot}", "--window-size=1280,7000")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    assert console_lines(result.stderr) == []
    assert png_size(shot) == (1280, 7000)
    assert shot.stat().st_size > 100_000  # a page of charts, not a blank one
    keep = os.environ.get("ACCORD_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report-dog.png")
        shutil.copy(page, Path(keep) / "report-dog.html")


LAYOUT_PROBE = """<script>
const problems = [];
document.querySelectorAll("svg").forEach((svg) => {
  const frame = svg.getBoundingClientRect();
  svg.querySelectorAll("text").forEach((t) => {
    const box = t.getBoundingClientRect();  // on screen, after rotation and scaling
    const outside = box.left < frame.left - 1 || box.right > frame.right + 1 || box.top < frame.top - 1 ||
      box.bottom > frame.bottom + 1;
    if (outside) problems.push("clipped text: " + t.textContent);
  });
});
document.querySelectorAll("div").forEach((d) => {
  const style = getComputedStyle(d);
  if (/(auto|scroll|hidden)/.test(style.overflowY) && d.scrollHeight > d.clientHeight + 1) {
    problems.push("hidden in an inner scroll box: " + d.scrollHeight + " > " + d.clientHeight);
  }
});
const result = document.createElement("pre");
result.id = "layout-result";
result.textContent = JSON.stringify(problems);
document.body.appendChild(result);
</script>"""


def layout_problems(browser: str, page: Path) -> list[str]:
    probed = page.with_name(page.stem + "-probe.html")
    probed.write_text(page.read_text().replace("</body>", LAYOUT_PROBE + "</body>"))
    dom = run_browser(browser, probed, "--dump-dom", "--window-size=1280,4000")
    found = re.search(r'<pre id="layout-result">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    import html
    import json

    return json.loads(html.unescape(found.group(1)))


def test_layout_probe_sees_clipping_and_scroll_boxes(browser, tmp_path):
    """The probe is only worth something if it fails a page that clips a title and hides a table."""
    page = tmp_path / "bad.html"
    rows = "".join(f"<tr><td>{i}</td></tr>" for i in range(100))
    page.write_text(
        '<!DOCTYPE html><html><body><svg viewBox="0 0 40 20" width="40" height="20"><text x="2" y="14">'
        "a title far wider than its figure</text></svg>"
        f'<div style="max-height:50px; overflow:auto"><table>{rows}</table></div></body></html>'
    )
    problems = layout_problems(browser, page)
    assert any(p.startswith("clipped text") for p in problems)
    assert any(p.startswith("hidden in an inner scroll box") for p in problems)


def test_report_titles_are_not_clipped_and_tables_not_hidden(browser, data_dir, tmp_path):
    data = load_dataset(data_dir / "dog")  # 109 annotators with long ids: small multiples and a long table
    report = build_report(data.annotations, gold=data.gold, redundancy=False, title="dog: layout")
    page = write_report(report, tmp_path / "report.html")
    assert layout_problems(browser, page) == []
