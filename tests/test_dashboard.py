"""The dashboard's pages run headless (Streamlit's AppTest) on real DuckDB files: the labelled
sample lined up with its timeline, an empty database, and databases the dashboard cannot show."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipeline import align
from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.dashboard import bench, queries, serve, ui
from pipeline.demo import build_sample_database
from pipeline.store import Store

from conftest import SAMPLE_DIR

INCIDENT = "spaces-2024-08-12"
REVIEW = "views/incident_review.py"
SUMMARY = "views/executive_summary.py"


@pytest.fixture(scope="module")
def aligned_db(labelled_sample_db, tmp_path_factory) -> Path:
    """The labelled sample, aligned and run through the spike detector (in a copy: both write)."""
    path = tmp_path_factory.mktemp("dashboard") / "aligned.duckdb"
    return bench.aligned_copy(labelled_sample_db, path, load_settings(db_path=path))


def one(db: Path, sql: str, params: list | None = None):
    with Store.open(db, read_only=True) as store:
        return store.query(sql, params)[0][0]


def run_page(monkeypatch, db: Path, page: str | None = None) -> AppTest:
    """The app (its default page, Live) or one page script on its own: AppTest runs a page
    without the app's navigation script even after ``switch_page``, so go there directly."""
    monkeypatch.setenv("GROUNDSWELL_DB_PATH", str(db))
    app = AppTest.from_file(str(serve.APP.parent / page if page else serve.APP), default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metric(app: AppTest, label: str):
    return next(m for m in app.metric if m.label == label)


def matching_posts(app: AppTest) -> str:
    return next(m.value for m in app.markdown if "posts match" in m.value)


def default_range(db: Path) -> tuple:
    with Store.open(db, read_only=True) as store:
        return store.query(
            "SELECT min(minute) FILTER (WHERE posts > 0), max(minute) FILTER (WHERE posts > 0) + INTERVAL 1 MINUTE "
            "FROM incident_minutes WHERE incident_id = ?",
            [INCIDENT],
        )[0]


def test_the_live_page_shows_the_last_15_minutes_before_the_latest_post(monkeypatch, aligned_db):
    app = run_page(monkeypatch, aligned_db)

    recent = one(aligned_db, "SELECT count(*) FROM posts WHERE created_at > (SELECT max(created_at) FROM posts) - INTERVAL 15 MINUTE")
    state = one(
        aligned_db,
        "SELECT state FROM alerts WHERE minute <= (SELECT max(created_at) FROM posts) ORDER BY minute DESC, raised_at DESC, id LIMIT 1",
    )  # the detector's state as of "now", the latest post
    assert metric(app, "Posts, last 15 min").value == f"{recent:,}"
    assert metric(app, "Detector").value == state
    assert metric(app, "Latest post").value == "22:59 EDT"
    assert any("the latest post in the database" in c.value for c in app.caption)
    assert len(app.get("plotly_chart")) == 3


def test_the_incident_review_shows_the_range_totals_and_the_incident_summary(monkeypatch, aligned_db):
    app = run_page(monkeypatch, aligned_db, REVIEW)

    start, end = default_range(aligned_db)
    posts, relevant = (
        one(aligned_db, f"SELECT sum({column}) FROM incident_minutes WHERE incident_id = ? AND minute >= ? AND minute < ?",
            [INCIDENT, start, end])
        for column in ("posts", "relevant_posts")
    )
    peak = one(aligned_db, "SELECT peak_posts_per_minute FROM incident_summary WHERE incident_id = ?", [INCIDENT])
    assert metric(app, "Posts in range").value == f"{posts:,}"
    assert metric(app, "Relevant posts").value == f"{relevant:,}"
    assert metric(app, "Peak posts per minute").value == f"{peak:,}"
    assert matching_posts(app).startswith(f"**{posts:,} posts match**")
    assert len(app.dataframe[-1].value) == 50


def test_the_review_filters_and_search_change_the_posts_listed(monkeypatch, aligned_db):
    app = run_page(monkeypatch, aligned_db, REVIEW)
    start, end = default_range(aligned_db)
    in_range = "incident_id = ? AND created_at >= ? AND created_at < ?"

    app.multiselect(key="f_sentiment").select("negative").run()
    negative = one(aligned_db, f"SELECT count(*) FROM posts_aligned WHERE {in_range} AND sentiment = 'negative'", [INCIDENT, start, end])
    assert matching_posts(app).startswith(f"**{negative:,} posts match**")
    assert set(app.dataframe[-1].value["sentiment"]) == {"negative"}

    app.text_input(key="f_search").input("DDoS").run()
    ddos = one(
        aligned_db,
        f"SELECT count(*) FROM posts_aligned WHERE {in_range} AND sentiment = 'negative' AND lower(text) LIKE '%ddos%'",
        [INCIDENT, start, end],
    )
    assert 0 < ddos < negative
    assert matching_posts(app).startswith(f"**{ddos:,} posts match**")
    assert all("ddos" in text.lower() for text in app.dataframe[-1].value["text"])


def test_times_follow_the_time_zone_chosen_in_the_sidebar(monkeypatch, aligned_db):
    app = run_page(monkeypatch, aligned_db, REVIEW)
    peak_at = one(aligned_db, "SELECT peak_posts_at FROM incident_summary WHERE incident_id = ?", [INCIDENT])
    assert metric(app, "Peak posts per minute").delta == f"at {peak_at.astimezone(ZoneInfo('America/New_York')):%H:%M} EDT"

    app.session_state["time_zone"] = "utc"  # what the sidebar's radio sets (AppTest runs the page without app.py)
    app.run()
    assert metric(app, "Peak posts per minute").delta == f"at {peak_at:%H:%M} UTC"


def test_the_executive_summary_quotes_the_top_complaint_types_as_plain_text(monkeypatch, aligned_db):
    app = run_page(monkeypatch, aligned_db, SUMMARY)
    assert f"`groundswell report {INCIDENT}` writes one" in app.caption[-1].value

    start, end = default_range(aligned_db)
    top_type, top_posts = one(
        aligned_db,
        "SELECT [complaint_type, count(*)::VARCHAR] FROM posts_aligned WHERE incident_id = ? AND created_at >= ? AND created_at < ? "
        "AND relevant AND complaint_type <> 'none' GROUP BY complaint_type ORDER BY count(*) DESC LIMIT 1",
        [INCIDENT, start, end],
    )
    lead = one(aligned_db, "SELECT social_lead_minutes FROM incident_summary WHERE incident_id = ?", [INCIDENT])
    assert metric(app, "Social lead").value == f"{lead:.1f} min"
    assert any(m.value == f"**{top_type.replace('_', ' ')}** · {int(top_posts):,} posts" for m in app.markdown)
    quoted = [t.value for t in app.text if not t.value.startswith("— @")]
    assert len(quoted) == 9
    with Store.open(aligned_db, read_only=True) as store:
        for text in quoted:
            assert store.query("SELECT count(*) FROM posts WHERE text = ?", [text])[0][0] >= 1
    assert not any(text in m.value for m in app.markdown for text in quoted)


def test_every_page_of_an_empty_database_says_what_to_do(monkeypatch, tmp_path):
    empty = tmp_path / "empty.duckdb"
    Store.open(empty).close()

    live = run_page(monkeypatch, empty)
    assert "No posts in this database yet" in live.info[0].value
    for page in (REVIEW, SUMMARY):
        assert "no incidents yet" in run_page(monkeypatch, empty, page).info[0].value


def test_a_missing_or_outdated_database_is_one_clear_note(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    assert "does not exist; run `groundswell ingest` or `groundswell demo` first" in run_page(monkeypatch, missing).warning[0].value

    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER, description VARCHAR, applied_at TIMESTAMPTZ)")
        connection.execute("INSERT INTO schema_version VALUES (3, 'post labels', now())")
    app = run_page(monkeypatch, old, REVIEW)
    assert "open it once for writing" in app.warning[0].value


def test_posts_not_yet_classified_or_aligned_get_a_note_not_an_empty_chart(monkeypatch, tmp_path):
    path = tmp_path / "unlabelled.duckdb"
    settings = load_settings(db_path=path, sample_dir=SAMPLE_DIR)
    build_sample_database(settings, classify=False)

    review = run_page(monkeypatch, path, REVIEW)
    assert "Run `groundswell align`" in review.info[0].value

    with Store.open(path) as store:
        align.refresh(store, settings)
    st.cache_data.clear()  # the pages would see the alignment once their cached reads expire (seconds)
    review = run_page(monkeypatch, path, REVIEW)
    assert "No post in this database is classified yet" in review.info[0].value
    assert metric(review, "Negative share").value == "—"
    live = run_page(monkeypatch, path)
    assert any("No post in this database is classified yet" in i.value for i in live.info)
    assert metric(live, "Detector").value == "no runs yet"


def test_the_executive_summary_offers_the_html_report_once_written(monkeypatch, aligned_db):
    report = Path("reports") / f"{INCIDENT}.html"  # where `groundswell report` writes, in the working directory
    report.parent.mkdir()
    report.write_text("<html>report</html>")

    app = run_page(monkeypatch, aligned_db, SUMMARY)

    assert [button.label for button in app.get("download_button")] == ["Download the full HTML report"]


def test_the_dashboard_command_refuses_a_missing_database_in_one_line(monkeypatch, capsys, tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    monkeypatch.setattr(sys, "argv", ["groundswell", "dashboard", "--db", str(missing)])

    with pytest.raises(SystemExit) as exit:
        main()

    captured = capsys.readouterr()
    assert (exit.value.code, captured.out, captured.err) == (
        1, "", f"Error: database {missing} does not exist; run `groundswell ingest` or `groundswell demo` first\n"
    )


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_the_download_holds_every_filtered_post_with_its_labels(aligned_db, tmp_path, kind):
    start, end = default_range(aligned_db)
    where = queries.PostFilter(INCIDENT, start, end, sentiments=("negative",), search="join")

    path = tmp_path / f"posts.{kind}"
    path.write_bytes(ui.export(str(aligned_db), where, kind))

    table = pq.read_table(path) if kind == "parquet" else pa_csv.read_csv(path)
    expected = one(
        aligned_db,
        "SELECT count(*) FROM posts_aligned WHERE incident_id = ? AND created_at >= ? AND created_at < ? "
        "AND sentiment = 'negative' AND contains(lower(text), 'join')",
        [INCIDENT, start, end],
    )
    assert table.num_rows == expected > 0
    assert {"id", "text", "sentiment", "complaint_type", "blame_target", "phase", "incident_id"} <= set(table.column_names)
    assert set(table.column("sentiment").to_pylist()) == {"negative"}


def test_now_is_the_wall_clock_while_posts_arrive_and_the_latest_post_for_history():
    wall = datetime(2024, 8, 13, 1, 0, tzinfo=timezone.utc)
    arriving, history = wall - timedelta(minutes=2), wall - timedelta(days=3)

    assert queries.choose_now(arriving, wall) == queries.Now(wall, False, arriving)
    assert queries.choose_now(history, wall) == queries.Now(history, True, history)
    assert queries.choose_now(history, wall, "wall") == queries.Now(wall, False, history)
    assert queries.choose_now(arriving, wall, "latest") == queries.Now(arriving, True, arriving)
    assert queries.choose_now(None, wall) == queries.Now(wall, False, None)
