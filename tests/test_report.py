"""The incident report, built from the real alignment views over the labelled sample.

Expected values are queried from ``incident_summary`` (and the other views) here in
the test and formatted independently, never copied from the report's own code."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from plotly.offline import get_plotlyjs
from selectolax.lexbor import LexborHTMLParser

from pipeline import align
from pipeline.cli import main
from pipeline.errors import UnknownIncident
from pipeline.report import PHASE_WORDS, write_report
from pipeline.store import Store

AUG_2024 = "spaces-2024-08-12"
MAY_2023 = "spaces-2023-05-24"
SCRIPT = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">"


def refreshed_copy(source: Path, target: Path, *statements: str) -> Path:
    """A writable copy of the sample with ``statements`` applied and the alignment refreshed."""
    shutil.copy(source, target)
    with Store.open(target) as store:
        align.refresh(store)
        if statements:
            for statement in statements:
                store.query(statement)
            align.refresh(store, full=True)  # rows changed in place: an incremental refresh would not see them
    return target


@pytest.fixture(scope="module")
def sample(labelled_sample_db, tmp_path_factory) -> Path:
    return refreshed_copy(labelled_sample_db, tmp_path_factory.mktemp("report") / "sample.duckdb")


@pytest.fixture(scope="module")
def reports(sample, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("reports")
    with Store.open(sample, read_only=True) as store:
        return {incident: write_report(store, incident, out) for incident in (AUG_2024, MAY_2023)}


def summary_row(db: Path, incident: str) -> dict:
    """The incident_summary row as a dict, JSON columns parsed."""
    with Store.open(db, read_only=True) as store:
        cursor = store.connection.execute("SELECT * FROM incident_summary WHERE incident_id = ?", [incident])
        row = dict(zip([column[0] for column in cursor.description], cursor.fetchone()))
    return {**row, "top_complaints": json.loads(row["top_complaints"]), "top_blamed": json.loads(row["top_blamed"])}


def local(row: dict, instant) -> str:
    return instant.astimezone(ZoneInfo(row["timezone"])).strftime("%H:%M %Z")


def both(row: dict, instant) -> str:
    return f"{local(row, instant)} ({instant.astimezone(ZoneInfo('UTC')).strftime('%H:%M UTC')})"


def minutes(value: float) -> str:
    """Tenths below ten minutes, whole minutes above."""
    return (f"{round(abs(value), 1):g}" if abs(value) < 10 else str(round(abs(value)))) + " minutes"


def page(path: Path) -> LexborHTMLParser:
    return LexborHTMLParser(path.read_text(encoding="utf-8"))


def numbers(path: Path) -> dict[str, tuple[str, str]]:
    return {
        card.css_first(".label").text(): (card.css_first(".value").text(), card.css_first(".detail").text())
        for card in page(path).css("#numbers .number")
    }


def story(path: Path) -> list[str]:
    return [p.text() for p in page(path).css("#narrative p")]


def complaint_shares(db: Path, incident: str) -> dict[tuple[str, str], float]:
    """(phase, complaint type) -> its share of the phase's relevant complaint posts."""
    with Store.open(db, read_only=True) as store:
        rows = store.query(
            """
            SELECT phase, complaint_type, count(*) / sum(count(*)) OVER (PARTITION BY phase) FROM posts_aligned
            WHERE incident_id = ? AND relevant AND complaint_type <> 'none' GROUP BY phase, complaint_type
            """,
            [incident],
        )
    return {(phase, complaint): share for phase, complaint, share in rows}


def test_the_summary_numbers_are_those_of_incident_summary(sample, reports):
    row = summary_row(sample, AUG_2024)
    shown = numbers(reports[AUG_2024].html)

    assert shown["First internal signal"][0] == both(row, row["first_internal_signal"])
    assert shown["First social spike"][0] == both(row, row["first_social_spike"])
    assert shown["Social lead"][0] == minutes(row["social_lead_minutes"]) + " earlier"
    assert shown["Peak volume"] == (f"{row['peak_posts_per_minute']:,} posts/min", f"at {both(row, row['peak_posts_at'])}")
    assert shown["Peak negative share"] == (
        f"{row['peak_negative_share']:.0%}",
        f"of relevant posts, at {both(row, row['peak_negative_at'])}",
    )
    assert shown["Best-lag correlation"][0] == f"r = {row['best_lag_correlation']:.2f}"
    assert row["correlation_metric"] in shown["Best-lag correlation"][1]
    recovery = row["recovery_minutes"]
    assert shown["Time to recovery"][0] == (minutes(recovery) if recovery is not None else "not recovered")


def test_the_narrative_claims_match_the_summary_row(sample, reports):
    row = summary_row(sample, AUG_2024)
    sentences = story(reports[AUG_2024].html)
    text = " ".join(sentences)

    assert row["social_lead_minutes"] > 0, "the sample's posts move before the first internal signal"
    assert sentences[0].startswith(f"Complaints rose {minutes(row['social_lead_minutes'])} before the first internal signal")
    assert f"they broke from their baseline at {local(row, row['first_social_spike'])}" in sentences[0]
    assert f"our own first signal came at {local(row, row['first_internal_signal'])}" in sentences[0]
    assert f"Volume peaked at {row['peak_posts_per_minute']:,} posts a minute at {local(row, row['peak_posts_at'])}" in text
    assert f"At worst, at {local(row, row['peak_negative_at'])}, {row['peak_negative_share']:.0%} of relevant posts were negative." in text
    blamed = next(b for b in row["top_blamed"] if b["target"] != "none")
    assert f"Blame went mostly to {blamed['entity'] or blamed['target']} ({blamed['posts']:,} posts)" in text
    assert f"Complaint volume tracked {row['correlation_metric']} most closely" in text
    assert f"(correlation {row['best_lag_correlation']:.2f})" in text
    shares = complaint_shares(sample, AUG_2024)
    (sentence,) = [s for s in sentences if s.startswith("The most common complaint was ")]
    for phase, ranked in row["top_complaints"].items():
        leader = ranked[0]["type"]
        told = re.search(rf"“{leader.replace('_', ' ')}” [^(]*{PHASE_WORDS[phase]}[^(]*\((\d+)(?:-(\d+))?%", sentence)
        assert told, f"{leader} {PHASE_WORDS[phase]} not in: {sentence}"
        assert int(told[1]) <= int(f"{shares[phase, leader] * 100:.0f}") <= int(told[2] or told[1]), phase


def test_the_narrative_of_the_2023_incident_is_built_from_its_own_numbers(sample, reports):
    row = summary_row(sample, MAY_2023)
    text = " ".join(story(reports[MAY_2023].html))
    assert f"Volume peaked at {row['peak_posts_per_minute']:,} posts a minute at {local(row, row['peak_posts_at'])}" in text
    assert "None" not in text and "nan" not in text


def test_the_markdown_tells_the_same_story_and_numbers(reports):
    markdown = reports[AUG_2024].markdown.read_text(encoding="utf-8")
    for sentence in story(reports[AUG_2024].html):
        assert sentence in markdown
    for label, (value, _) in numbers(reports[AUG_2024].html).items():
        assert f"| {label} | **{value}** |" in markdown


def test_times_are_shown_in_the_incident_time_zone_with_utc_stated(reports):
    header = page(reports[AUG_2024].html).css("p.meta")[1].text()
    assert header == "All times are America/New_York, EDT = UTC-04:00; UTC in brackets where it matters."


def test_the_page_carries_plotly_inline_once_and_loads_nothing_from_the_network(reports):
    text = reports[AUG_2024].html.read_text(encoding="utf-8")
    assert text.count(get_plotlyjs()[:200]) == 1
    tree = page(reports[AUG_2024].html)
    assert [node.attributes for node in tree.css("script[src], link[href], img[src], iframe")] == []


def test_post_text_with_a_script_tag_is_shown_as_text(labelled_sample_db, tmp_path):
    db = refreshed_copy(
        labelled_sample_db,
        tmp_path / "hostile.duckdb",
        f"""
        UPDATE posts SET text = '{SCRIPT} [click](javascript:alert(1))', url = 'javascript:alert(1)'
        WHERE id = (SELECT id FROM posts_aligned a JOIN posts p USING (id)
                    WHERE a.incident_id = '{AUG_2024}' AND a.relevant AND a.complaint_type <> 'none' AND p.repost_of_id IS NULL
                    ORDER BY a.engagement DESC, a.created_at, a.id LIMIT 1)
        """,
    )
    with Store.open(db, read_only=True) as store:
        files = write_report(store, AUG_2024, tmp_path / "out")
    html_text = files.html.read_text(encoding="utf-8")
    markdown = files.markdown.read_text(encoding="utf-8")

    quoted = [node.text() for node in page(files.html).css("blockquote")]
    assert f"{SCRIPT} [click](javascript:alert(1))" in quoted
    assert "<script>window.pwned" not in html_text and "<img src=x" not in html_text
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in html_text
    assert "javascript:alert" not in "".join(a.attributes.get("href") or "" for a in page(files.html).css("a"))
    assert "<script>" not in markdown and "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in markdown
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in markdown


def test_a_report_without_labels_or_metrics_says_what_is_missing(labelled_sample_db, tmp_path):
    db = refreshed_copy(labelled_sample_db, tmp_path / "bare.duckdb", "DELETE FROM post_labels", "DELETE FROM metrics")
    with Store.open(db, read_only=True) as store:
        files = write_report(store, AUG_2024, tmp_path / "out")
    sentences = story(files.html)
    shown = numbers(files.html)

    assert "No post is classified yet, so there are no sentiment, complaint or blame figures; run `groundswell classify`." in sentences
    assert sentences[-1] == "No server-side metric is on record for this incident, so none is compared with the complaints."
    assert shown["Peak negative share"] == ("-", "no classified posts")
    assert shown["Best-lag correlation"] == ("-", "no server-side metric to compare with")
    assert page(files.html).css("#mix-chart") == []
    assert "nan" not in " ".join(sentences).lower() and "None" not in files.markdown.read_text(encoding="utf-8")


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["groundswell", *args])
    with pytest.raises(SystemExit) as exit:
        main()
    captured = capsys.readouterr()
    return exit.value.code, captured.out, captured.err


def test_the_report_command_writes_the_html_and_markdown(sample, tmp_path, monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "report", AUG_2024, "--db", str(sample), "--out", str(tmp_path))
    html_path, md_path = tmp_path / f"{AUG_2024}.html", tmp_path / f"{AUG_2024}.md"
    assert (code, out, err) == (0, f"wrote {html_path} and {md_path}\n", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{AUG_2024}.html", f"{AUG_2024}.md"]


def test_an_unknown_incident_is_one_error_line_and_writes_nothing(sample, tmp_path, monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "report", "spaces-1999", "--db", str(sample), "--out", str(tmp_path / "out"))
    assert (code, out) == (1, "")
    assert err.startswith("Error: no incident 'spaces-1999'") and err.count("\n") == 1
    assert f"{MAY_2023}, {AUG_2024}" in err
    assert not (tmp_path / "out").exists()


def test_an_unknown_incident_raises_the_named_exception(sample, tmp_path):
    with Store.open(sample, read_only=True) as store, pytest.raises(UnknownIncident):
        write_report(store, "nope", tmp_path)


@pytest.mark.browser
def test_the_report_renders_its_charts_in_headless_chromium(sample, reports, tmp_path):
    from playwright.sync_api import sync_playwright

    with Store.open(sample, read_only=True) as store:
        (window_minutes,) = store.query("SELECT count(*) FROM incident_minutes WHERE incident_id = ?", [AUG_2024])[0]
        (complaint_types,) = store.query(
            "SELECT count(DISTINCT complaint_type) FROM incident_minute_complaints WHERE incident_id = ?", [AUG_2024]
        )[0]
    requests, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            tab = browser.new_page(viewport={"width": 1200, "height": 900})
            tab.on("request", lambda request: requests.append(request.url))
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.goto(reports[AUG_2024].html.resolve().as_uri())
            tab.wait_for_selector("#mix-chart .main-svg")
            plots = tab.locator(".js-plotly-plot").count()
            svgs = tab.locator(".js-plotly-plot .main-svg").count()
            bars = tab.locator("#timeline-chart .trace.bars .point").count()
            lines = tab.locator("#timeline-chart .scatterlayer .trace .js-line").count()
            mix_traces = tab.locator("#mix-chart .trace.bars").count()
            event_tags = tab.locator("#timeline-chart .annotation-text").all_text_contents()
            shot = tmp_path / "report.png"
            tab.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    assert errors == []
    assert [url for url in requests if not url.startswith("file://")] == []
    assert plots == 2 and svgs >= 4
    assert bars == window_minutes
    assert lines == 2  # negative share and the metric
    assert mix_traces == complaint_types
    assert {"investigating", "identified", "monitoring", "resolved"} <= set(event_tags)
    assert shot.stat().st_size > 50_000
