"""The dashboard end to end: `streamlit run` on a free port, driven by headless chromium.

One server and one browser serve the whole module (starting them is the slow part);
the server reads a copy of the aligned sample, which the live test appends to.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from pipeline.config import load_settings
from pipeline.dashboard import bench, browser
from pipeline.store import POSTS_SCHEMA, Store

pytestmark = pytest.mark.browser

INCIDENT = "spaces-2024-08-12"


@pytest.fixture(scope="module")
def db(labelled_sample_db, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dashboard-browser") / "aligned.duckdb"
    return bench.aligned_copy(labelled_sample_db, path, load_settings(db_path=path))


@pytest.fixture(scope="module")
def app_url(db):
    with browser.running_app(db) as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    with browser.chromium() as opened:
        yield opened


def one(db: Path, sql: str, params: list | None = None):
    with Store.open(db, read_only=True) as store:
        return store.query(sql, params)[0][0]


def metric_value(page, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True))
    return card.locator('[data-testid="stMetricValue"]').inner_text()


def matching_posts(page) -> int:
    text = page.get_by_text(re.compile(r"posts match")).inner_text()
    return int(re.match(r"([\d,]+) posts match", text).group(1).replace(",", ""))


def wait_for_matching(page, expected: int) -> None:
    page.wait_for_function(
        "n => [...document.querySelectorAll('strong')].some(e => e.textContent === n + ' posts match')",
        arg=f"{expected:,}",
        timeout=30_000,
    )


def review_range(db: Path) -> tuple:
    with Store.open(db, read_only=True) as store:
        return store.query(
            "SELECT min(minute) FILTER (WHERE posts > 0), max(minute) FILTER (WHERE posts > 0) + INTERVAL 1 MINUTE "
            "FROM incident_minutes WHERE incident_id = ?",
            [INCIDENT],
        )[0]


def test_the_three_pages_draw_their_charts_and_numbers(page, app_url, db):
    for title in browser.PAGES:
        browser.open_page(page, app_url, title)
        assert page.locator(".js-plotly-plot").count() >= browser.CHARTS[title]
        assert page.locator('[data-testid="stException"]').count() == 0

    peak = one(db, "SELECT peak_posts_per_minute FROM incident_summary WHERE incident_id = ?", [INCIDENT])
    assert metric_value(page, "Peak posts per minute") == f"{peak:,}"
    browser.switch_page(page, "Incident review")
    start, end = review_range(db)
    posts = one(db, "SELECT sum(posts) FROM incident_minutes WHERE incident_id = ? AND minute >= ? AND minute < ?", [INCIDENT, start, end])
    assert metric_value(page, "Posts in range") == f"{posts:,}"
    assert matching_posts(page) == posts


def test_a_sentiment_filter_narrows_the_posts_listed(page, app_url, db):
    browser.open_page(page, app_url, "Incident review")
    start, end = review_range(db)
    positive = one(
        db, "SELECT count(*) FROM posts_aligned WHERE incident_id = ? AND created_at >= ? AND created_at < ? AND sentiment = 'positive'",
        [INCIDENT, start, end],
    )

    sentiment = page.get_by_role("combobox", name="Sentiment")
    sentiment.click()
    sentiment.press("ArrowDown")
    page.get_by_role("option", name="positive", exact=True).click()
    page.keyboard.press("Escape")

    wait_for_matching(page, positive)


def test_clicking_a_bar_lists_the_posts_of_that_minute(page, app_url, db):
    browser.open_page(page, app_url, "Incident review")
    chart = page.locator(".js-plotly-plot").first
    chart.scroll_into_view_if_needed()
    negative_bars = chart.locator(".barlayer .trace").first.locator(".point")
    heights = negative_bars.evaluate_all("paths => paths.map(p => p.getBoundingClientRect().height)")
    tallest = heights.index(max(heights))
    local_minute = chart.evaluate("(plot, i) => plot.data[0].x[i]", tallest)
    minute = datetime.fromisoformat(local_minute).replace(tzinfo=ZoneInfo("America/New_York"))
    in_minute = one(db, "SELECT count(*) FROM posts_aligned WHERE incident_id = ? AND minute = ?", [INCIDENT, minute])

    box = negative_bars.nth(tallest).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)  # Plotly picks the point under the pointer on hover, then takes the click
    page.mouse.click(x, y + 1)

    page.get_by_text("picked on the chart").wait_for(timeout=30_000)
    wait_for_matching(page, in_minute)


def test_the_live_page_shows_new_posts_without_a_reload(page, app_url, db):
    browser.open_page(page, app_url, "Live")
    page.locator('[data-testid="stSelectbox"]', has=page.get_by_text("Refresh every", exact=True)).click()
    page.get_by_role("option", name="2 s").click()
    browser.wait_rendered(page, "Live")
    before = metric_value(page, "Posts, last 15 min")
    page.evaluate("window.__not_reloaded = true")

    latest = one(db, "SELECT max(created_at) FROM posts")
    new = [
        {"id": f"x:live-{i}", "source": "x", "native_id": f"live-{i}", "text": f"Spaces still will not load for me ({i})",
         "created_at": latest + timedelta(seconds=i + 1), "origin": "test"}
        for i in range(7)
    ]
    with Store.open(db) as store:
        store.append_posts(pa.Table.from_pylist(new, schema=POSTS_SCHEMA))
    expected = one(db, "SELECT count(*) FROM posts WHERE created_at > (SELECT max(created_at) FROM posts) - INTERVAL 15 MINUTE")
    assert f"{expected:,}" != before

    page.wait_for_function(
        """n => [...document.querySelectorAll('[data-testid="stMetric"]')]
                 .some(m => m.innerText.includes('Posts, last 15 min') && m.innerText.includes(n))""",
        arg=f"{expected:,}",
        timeout=30_000,
    )
    assert page.evaluate("window.__not_reloaded") is True
