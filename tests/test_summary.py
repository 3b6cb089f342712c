from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from conftest import tweet, write_lines, x_response
from pipeline.ingest import ingest_file
from pipeline.sources import XSource
from pipeline.summary import summarize

EASTERN = ZoneInfo("America/New_York")


def add_incident(store, started_at):
    store.query(
        "INSERT INTO incidents (id, name, timezone, started_at, source, imported_at) "
        "VALUES ('spaces', 'Spaces outage', 'America/New_York', ?, 'yaml', now())",
        [started_at],
    )
    store.query(
        "INSERT INTO incident_events (id, incident_id, occurred_at, kind, phase, title, source, imported_at) "
        "VALUES ('yaml:1', 'spaces', ?, 'statement', NULL, 'massive DDOS attack', 'yaml', now())",
        [started_at + timedelta(minutes=2, seconds=30)],
    )


def test_the_summary_counts_posts_per_source_minute_and_reject_reason(store, tmp_path):
    start = datetime(2024, 8, 13, 0, 0, tzinfo=timezone.utc)
    times = [start - timedelta(minutes=1), start, start + timedelta(seconds=59), start + timedelta(minutes=2, seconds=1)]
    tweets = [tweet(str(i), created_at=t.strftime("%Y-%m-%dT%H:%M:%S.000Z")) for i, t in enumerate(times)]
    ingest_file(store, write_lines(tmp_path / "p.jsonl", x_response(*tweets), b"{oops"), XSource())
    add_incident(store, start)

    result = summarize(store, before=timedelta(minutes=2), after=timedelta(minutes=3))

    assert [(source, count) for source, count, _, _ in result.posts_by_source] == [("x", 4)]
    assert [(reason, count) for _, reason, count, _ in result.rejects] == [("not_json", 1)]
    (window,) = result.incidents
    assert [(row.minute.strftime("%H:%M"), row.posts, row.events) for row in window.minutes] == [
        ("19:58", 0, ()),
        ("19:59", 1, ()),
        ("20:00", 2, ()),
        ("20:01", 0, ()),
        ("20:02", 1, ("statement: massive DDOS attack",)),
        ("20:03", 0, ()),
    ]
    assert window.minutes[0].minute.tzinfo is not None
    assert window.posts_in_window == 4


def test_an_empty_database_summarises_to_nothing_without_error(store):
    result = summarize(store)
    assert (result.posts_by_source, result.rejects, result.incidents, result.metric_points, result.events) == ((), (), (), 0, 0)
