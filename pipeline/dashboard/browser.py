"""The dashboard in a real headless browser: for the end-to-end tests, the render
benchmark and the README screenshots.

Streamlit runs as a subprocess exactly as ``groundswell dashboard`` starts it (on a
free port on 127.0.0.1); Playwright drives Debian's chromium. A page has finished
rendering when its own heading is there, Streamlit reports its script stopped
running and the page's Plotly charts have been drawn.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx

from pipeline.dashboard import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGES = {"Live": "", "Incident review": "incident_review", "Executive summary": "executive_summary"}
"""Page title -> URL path, as ``st.navigation`` names them."""
CHARTS = {"Live": 2, "Incident review": 2, "Executive summary": 2}
"""How many Plotly charts each page draws on the sample incident (at least)."""
MARKERS = {"Live": "Posts per minute, last two hours", "Incident review": "Complaint types over time",
           "Executive summary": "In their words: the most engaged posts of each top complaint"}
"""A heading only that page shows: present once the page (not the one before it) has run."""
FINISHED = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind((serve.ADDRESS, 0))
        return probe.getsockname()[1]


@contextmanager
def running_app(db: Path, startup_timeout: float = 60.0, app: Path = serve.APP) -> Iterator[str]:
    """``streamlit run`` of ``app`` (the dashboard) on ``db`` on a free port; yields the base URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        serve.streamlit_command(port, app), env=serve.environment(db), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait_healthy(process, serve.url(port), startup_timeout)
        yield serve.url(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(process: subprocess.Popen, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"streamlit exited with status {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout:.0f} s")


@contextmanager
def chromium(width: int = 1440, height: int = 1000) -> Iterator:
    """A Playwright page in headless chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def wait_rendered(page, title: str, timeout_ms: float = 60_000) -> None:
    """Until the page's heading is there, its script has stopped running and its Plotly charts are drawn."""
    _wait_drawn(page, MARKERS[title], CHARTS[title], timeout_ms)


def _wait_drawn(page, heading: str, charts: int, timeout_ms: float) -> None:
    page.get_by_role("heading", name=heading).wait_for(timeout=timeout_ms)
    page.wait_for_selector(FINISHED, timeout=timeout_ms)
    page.wait_for_function(
        # Charts, not SVG layers: Plotly draws two .main-svg per chart, so counting those let one chart pass for two.
        "n => [...document.querySelectorAll('.js-plotly-plot')].filter(chart => chart.querySelector('.main-svg')).length >= n",
        arg=charts, timeout=timeout_ms
    )


def open_url(page, url: str, heading: str, charts: int, timeout_ms: float = 60_000) -> float:
    """Load any Streamlit page from scratch; the seconds until ``heading`` is there and ``charts`` charts are drawn."""
    started = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    _wait_drawn(page, heading, charts, timeout_ms)
    return time.perf_counter() - started


def open_page(page, base_url: str, title: str, query: str = "", timeout_ms: float = 60_000) -> float:
    """Load one dashboard page from scratch (``query``: URL parameters such as
    ``live_refresh=off``); returns the seconds until it finished rendering."""
    return open_url(page, f"{base_url}/{PAGES[title]}{'?' + query if query else ''}", MARKERS[title], CHARTS[title], timeout_ms)


def switch_page(page, title: str, timeout_ms: float = 60_000) -> float:
    """Go to another page through the sidebar (no reload); returns the seconds until it finished rendering."""
    started = time.perf_counter()
    page.get_by_role("link", name=title).click()
    wait_rendered(page, title, timeout_ms)
    return time.perf_counter() - started
