"""The demo's pages in a real browser (Debian's chromium, driven by Playwright; nothing downloads a browser): the
KPU Kota Probolinggo figures on screen, every request on this host, no script needed, pages that fit a 360 px
phone, a keyboard path to the content, a print layout, and screenshots at 1280 and 360 px into test-artifacts/.
Then Lighthouse (npm, 12.2.3) scores the national, a region and a grant page: at least 95 in each category."""

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.helpers import system_tool

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (1280, 360)
KPU_FIGURES = ("Rp23.116.413.980", "81,32%", "Rp4.319.253.892")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
LIGHTHOUSE_MIN = 0.95


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = system_tool("chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def _pages(demo: dict[str, int]) -> list[tuple[str, str]]:
    return [
        ("national", "/"),
        ("province", "/wilayah/35"),
        ("region", "/wilayah/35.74"),
        ("grant-kpu", f"/nphd/{demo['kpu']}"),
        ("grant-bawaslu", f"/nphd/{demo['bawaslu']}"),
        ("findings", "/temuan"),
        ("search", "/wilayah?q=probolinggo"),
        ("national-en", "/?lang=en"),
    ]


def _visit(page: Page, url: str) -> str:
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, url
    return page.inner_text("main")


def test_demo_pages_in_chromium(browser: Browser, demo: dict[str, int], server_address: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    asked: list[str] = []
    for width in WIDTHS:
        # Scripts off: every page must work without them (they carry none).
        context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=False)
        context.on("request", lambda request: asked.append(request.url))
        page = context.new_page()
        for name, path in _pages(demo):
            text = _visit(page, server_address + path)
            if name in ("national", "region", "grant-kpu"):
                for figure in KPU_FIGURES:
                    assert figure in text, (name, width, figure)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} is wider than a {width} px screen by {overflow} px"
            page.screenshot(path=ARTIFACTS / f"{name}-{width}.png", full_page=True)
        context.close()
    hosts = {urlsplit(url).netloc for url in asked}
    assert hosts == {urlsplit(server_address).netloc}, f"requests left the host: {hosts}"
    assert len(asked) == len(WIDTHS) * len(_pages(demo)), "one request per page: no stylesheet, font or image to fetch"


def test_keyboard_and_print(browser: Browser, demo: dict[str, int], server_address: str) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 800})
    _visit(page, f"{server_address}/nphd/{demo['kpu']}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Langsung ke isi"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#isi"
    page.emulate_media(media="print")
    assert page.is_hidden(".site nav"), "printing leaves the menu out"
    assert page.is_visible("svg.bar"), "and keeps the charts"
    page.pdf(path=ARTIFACTS / "grant-kpu-print.pdf")
    page.close()


def _lighthouse(url: str, chromium: str, lighthouse: str, report: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hibah-lighthouse-") as profile:
        flags = " ".join([*CHROMIUM_FLAGS, f"--user-data-dir={profile}"])
        command = [
            lighthouse,
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={flags}",
        ]
        subprocess.run(command, env={**os.environ, "CHROME_PATH": chromium}, check=True, timeout=180)
    categories = json.loads(report.read_text())["categories"]
    return {name: float(categories[name]["score"]) for name in CATEGORIES}


def test_lighthouse_scores(demo: dict[str, int], server_address: str) -> None:
    chromium, lighthouse = system_tool("chromium"), system_tool("lighthouse")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, path in (("national", "/"), ("region", "/wilayah/35.74"), ("grant-kpu", f"/nphd/{demo['kpu']}")):
        url = server_address + path
        httpx.get(url, timeout=60).raise_for_status()  # the page as readers get it: rendered once, then kept
        runs = [_lighthouse(url, chromium, lighthouse, ARTIFACTS / f"lighthouse-{name}.json")]
        if min(runs[0].values()) < LIGHTHOUSE_MIN:
            # Performance is timed on a shared 2-core machine: as Lighthouse advises, the median of three runs.
            runs += [_lighthouse(url, chromium, lighthouse, ARTIFACTS / f"lighthouse-{name}-{n}.json") for n in (2, 3)]
        scores = {category: median(run[category] for run in runs) for category in CATEGORIES}
        assert min(scores.values()) >= LIGHTHOUSE_MIN, (name, scores, runs)
