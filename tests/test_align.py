"""The alignment SQL on small hand-built tables whose answers are worked out by hand here,
then on the labelled sample against the generator's ground truth."""

from __future__ import annotations

import json
import random
import shutil
import sys
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.align import refresh, summary_rows
from pipeline.config import load_settings
from pipeline.errors import StoreError
from pipeline.sample.truth import INCIDENTS
from pipeline.store import Store

DAY = datetime(2024, 1, 1, tzinfo=timezone.utc)
SETTINGS = load_settings()


def at(hour: int, minute: int, second: int = 0, microsecond: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute, second=second, microsecond=microsecond)


def add_incident(store: Store, incident: str, started: datetime | None, resolved: datetime | None, *events) -> None:
    """``events``: (occurred_at, kind, phase)."""
    store.connection.execute(
        "INSERT INTO incidents (id, name, timezone, started_at, resolved_at, source, imported_at) "
        "VALUES (?, ?, 'UTC', ?, ?, 'yaml', now())",
        [incident, f"Incident {incident}", started, resolved],
    )
    for n, (when, kind, phase) in enumerate(events):
        store.connection.execute(
            "INSERT INTO incident_events (id, incident_id, occurred_at, kind, phase, title, source, imported_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'yaml', now())",
            [f"{incident}-{n}", incident, when, kind, phase, kind],
        )


def add_posts(store: Store, *posts: tuple[str, datetime]) -> None:
    store.connection.execute(
        "INSERT INTO posts (id, source, native_id, text, created_at, like_count, repost_count, ingested_at) "
        "SELECT id, 'x', id, 'text of ' || id, created_at, 2, 1, now() "
        "FROM (SELECT unnest(?::VARCHAR[]) AS id, unnest(?::TIMESTAMPTZ[]) AS created_at)",
        [[post_id for post_id, _ in posts], [created_at for _, created_at in posts]],
    )


def label(
    store: Store,
    post_id: str,
    sentiment: str | None = "negative",
    complaint: str = "none",
    relevant: bool = True,
    blame: tuple[str, str] | None = None,
    version: str = "v1",
    classified_at: datetime | None = None,
) -> None:
    store.connection.execute(
        "INSERT INTO post_labels (post_id, model_version, language, is_english, sentiment, complaint_type, relevant, "
        "blame_target, blame_entity, classified_at) VALUES (?, ?, 'en', ?, ?, ?, ?, ?, ?, coalesce(?, now()))",
        [post_id, version, sentiment is not None, sentiment, complaint, relevant, *(blame or ("none", None)), classified_at],
    )


@pytest.fixture
def hand_built(store):
    """One incident: signal at 12:00:00, identified 12:10:30, monitoring 12:20, resolved 12:30;
    a schedule event at 11:50 and a statement at 11:55 (neither is an internal signal).
    Window: 60 minutes before 11:50 to 60 minutes after 12:30 -> [10:50, 13:31)."""
    add_incident(
        store,
        "inc",
        at(12, 0),
        at(12, 30),
        (at(11, 50), "schedule", None),
        (at(11, 55), "statement", None),
        (at(12, 0), "status_update", "investigating"),
        (at(12, 10, 30), "status_update", "identified"),
        (at(12, 20), "status_update", "monitoring"),
        (at(12, 30), "status_update", "resolved"),
    )
    add_posts(
        store,
        ("p01", at(10, 49, 59)),  # before the window
        ("p02", at(11, 59, 59)),  # a second before the first event: before
        ("p03", at(12, 0)),  # exactly at the first event: investigating
        ("p04", at(12, 10, 29, 999_999)),  # just before identified
        ("p05", at(12, 10, 30)),  # exactly at identified
        ("p06", at(12, 30)),  # exactly at resolution
        ("p07", at(13, 30, 59)),  # last minute of the window
        ("p08", at(13, 31)),  # just after the window
        ("p09", at(12, 15, 1)),
        ("p10", at(12, 15, 2)),
        ("p11", at(12, 15, 3)),
        ("p12", at(12, 15, 4)),
    )
    label(store, "p02", "negative", "cannot_join")
    label(store, "p03", "negative", "none")
    label(store, "p04", "negative", "app_crash", version="v1", classified_at=at(14, 0))
    label(store, "p04", "positive", "cannot_join", version="v2", classified_at=at(15, 0))  # the newer label wins
    label(store, "p06", "neutral", "audio_quality", blame=("company", "X"))
    label(store, "p07", "negative", "none", relevant=False)
    label(store, "p09", "negative", "cannot_join", blame=("person", "Elon Musk"))
    label(store, "p10", "negative", "app_crash", blame=("company", "X"))
    label(store, "p11", "positive", "none")
    label(store, "p12", None, "delay")  # relevant, but not English: no sentiment
    refresh(store, SETTINGS)
    return store


def test_posts_take_the_phase_in_effect_at_their_time_asof_the_timeline(hand_built):
    rows = hand_built.query(
        "SELECT id, incident_id, phase, minutes_since_signal, sentiment FROM posts_aligned ORDER BY id"
    )
    assert rows == [
        ("p01", None, None, None, None),
        ("p02", "inc", "before", -1 / 60, "negative"),
        ("p03", "inc", "investigating", 0.0, "negative"),
        ("p04", "inc", "investigating", (10 * 60 + 29.999999) / 60, "positive"),
        ("p05", "inc", "identified", 10.5, None),
        ("p06", "inc", "resolved", 30.0, "neutral"),
        ("p07", "inc", "resolved", 90 + 59 / 60, "negative"),
        ("p08", None, None, None, None),
        ("p09", "inc", "identified", 15 + 1 / 60, "negative"),
        ("p10", "inc", "identified", 15 + 2 / 60, "negative"),
        ("p11", "inc", "identified", 15 + 3 / 60, "positive"),
        ("p12", "inc", "identified", 15 + 4 / 60, None),
    ]


def test_posts_aligned_carries_every_contract_column_and_sums_engagement(hand_built):
    columns = [row[0] for row in hand_built.query("SELECT column_name FROM (DESCRIBE posts_aligned)")]
    assert columns == (
        "id source created_at minute text author_handle author_name author_followers lang url like_count repost_count "
        "reply_count quote_count engagement language is_english sentiment p_negative p_neutral p_positive complaint_type "
        "complaint_score relevance relevant blame_target blame_entity model_version incident_id phase minutes_since_signal"
    ).split()
    assert hand_built.query("SELECT DISTINCT engagement FROM posts_aligned") == [(3,)]
    assert hand_built.query("SELECT minute, model_version FROM posts_aligned WHERE id = 'p04'") == [(at(12, 10), "v2")]


def test_every_minute_of_the_window_is_present_zero_filled(hand_built):
    assert hand_built.query("SELECT count(*), min(minute), max(minute), sum(posts) FROM incident_minutes") == [
        (161, at(10, 50), at(13, 30), 10)
    ]
    assert hand_built.query("SELECT * FROM incident_minutes WHERE minute = ?", [at(10, 50)]) == [
        ("inc", at(10, 50), "before", 0, 0, 0, 0, 0, 0, 0, None, None, None)
    ]


def test_minute_counts_and_sentiment_shares_are_the_hand_counted_ones(hand_built):
    rows = hand_built.query(
        "SELECT * FROM incident_minutes WHERE posts > 0 OR minute IN (?, ?) ORDER BY minute", [at(12, 10), at(12, 20)]
    )
    # incident, minute, phase, posts, relevant, labelled, complaint, negative, neutral, positive, shares
    assert rows == [
        ("inc", at(11, 59), "before", 1, 1, 1, 1, 1, 0, 0, 1.0, 0.0, 0.0),
        ("inc", at(12, 0), "investigating", 1, 1, 1, 0, 1, 0, 0, 1.0, 0.0, 0.0),
        # p04 and p05; a minute's phase is the phase at its first instant (identified came at 12:10:30)
        ("inc", at(12, 10), "investigating", 2, 1, 1, 1, 0, 0, 1, 0.0, 0.0, 1.0),
        ("inc", at(12, 15), "identified", 4, 4, 4, 3, 2, 0, 1, 2 / 3, 0.0, 1 / 3),
        ("inc", at(12, 20), "monitoring", 0, 0, 0, 0, 0, 0, 0, None, None, None),
        ("inc", at(12, 30), "resolved", 1, 1, 1, 1, 0, 1, 0, 0.0, 1.0, 0.0),
        ("inc", at(13, 30), "resolved", 1, 0, 1, 0, 0, 0, 0, None, None, None),
    ]


def test_complaints_per_minute_count_relevant_complaints_only(hand_built):
    assert hand_built.query("SELECT * FROM incident_minute_complaints ORDER BY minute, complaint_type") == [
        ("inc", at(11, 59), "cannot_join", 1),
        ("inc", at(12, 10), "cannot_join", 1),
        ("inc", at(12, 15), "app_crash", 1),
        ("inc", at(12, 15), "cannot_join", 1),
        ("inc", at(12, 15), "delay", 1),
        ("inc", at(12, 30), "audio_quality", 1),
    ]


def test_metrics_are_averaged_per_minute_across_labels_and_events_listed_by_minute(hand_built):
    hand_built.connection.executemany(
        "INSERT INTO metrics VALUES ('errors', ?, ?, ?, 'prometheus')",
        [['{"region":"eu"}', at(12, 5, 0), 0.2], ['{"region":"us"}', at(12, 5, 30), 0.4], ['{"region":"eu"}', at(9, 0), 9.0]],
    )
    refresh(hand_built, SETTINGS)
    assert hand_built.query("SELECT * FROM incident_minute_metrics") == [("inc", at(12, 5), "errors", pytest.approx(0.3))]
    assert hand_built.query("SELECT minute, kind, phase FROM incident_minute_events WHERE minute = ?", [at(12, 10)]) == [
        (at(12, 10), "status_update", "identified")
    ]


def test_the_summary_row_is_the_hand_worked_one(hand_built):
    (row,) = summary_rows(hand_built)
    assert (row.window_start, row.window_end, row.first_internal_signal) == (at(10, 50), at(13, 31), at(12, 0))
    assert (row.first_social_spike, row.social_lead_minutes) == (None, None)  # too few complaints to break out
    assert (row.peak_posts_per_minute, row.peak_posts_at) == (4, at(12, 15))
    assert (row.peak_negative_share, row.recovery_minutes) == (None, None)  # no minute with 10 rated posts
    assert row.top_complaints == {
        "before": [{"type": "cannot_join", "posts": 1}],
        "investigating": [{"type": "cannot_join", "posts": 1}],
        "identified": [{"type": "app_crash", "posts": 1}, {"type": "cannot_join", "posts": 1}, {"type": "delay", "posts": 1}],
        "resolved": [{"type": "audio_quality", "posts": 1}],
    }
    assert row.top_blamed == [
        {"target": "company", "entity": "X", "posts": 2},
        {"target": "person", "entity": "Elon Musk", "posts": 1},
    ]
    assert (row.correlation_metric, row.best_lag_minutes, row.best_lag_correlation) == ("spaces_join_error_ratio", None, None)


def test_the_lagged_correlation_finds_the_lag_built_into_the_series(store):
    """Complaints in minute t are exactly the metric of minute t - 4 (times 100): r = 1 at lag 4."""
    rng = random.Random(7)
    values = [rng.randint(0, 9) for _ in range(120)]
    add_incident(store, "corr", at(10, 0), at(11, 40), (at(10, 0), "alert", "investigating"))
    posts = [
        (f"c{minute}-{n}", at(10, 0) + timedelta(minutes=minute, seconds=n))
        for minute in range(4, 124)
        for n in range(values[minute - 4])
    ]
    add_posts(store, *posts)
    store.connection.execute(
        "INSERT INTO post_labels (post_id, model_version, is_english, sentiment, complaint_type, relevant, classified_at) "
        "SELECT id, 'v1', true, 'negative', 'errors', true, now() FROM posts"
    )
    store.connection.executemany(
        "INSERT INTO metrics VALUES ('join_errors', '{}', ?, ?, 'prometheus')",
        [[at(10, 0) + timedelta(minutes=minute), value / 100] for minute, value in enumerate(values)],
    )
    refresh(store, load_settings(correlation_metric="join_errors"))
    (row,) = summary_rows(store)
    assert (row.correlation_metric, row.best_lag_minutes) == ("join_errors", 4)
    assert row.best_lag_correlation == pytest.approx(1.0)


def test_a_post_in_two_windows_belongs_to_the_incident_whose_window_started_last(store):
    add_incident(store, "early", at(10, 0), at(11, 0))  # window [09:00, 12:01)
    add_incident(store, "late", at(11, 30), at(12, 0))  # window [10:30, 13:01)
    add_posts(store, ("a", at(10, 15)), ("b", at(10, 45)), ("c", at(12, 30)))
    refresh(store, SETTINGS)
    assert store.query("SELECT id, incident_id FROM posts_aligned ORDER BY id") == [("a", "early"), ("b", "late"), ("c", "late")]


def test_events_long_before_the_start_do_not_stretch_the_window(store):
    add_incident(store, "inc", at(20, 0), at(21, 0), (at(14, 0), "scaling_test", None), (at(19, 0), "schedule", None))
    refresh(store, SETTINGS)
    assert store.query("SELECT window_start, window_end FROM alignment_windows") == [(at(18, 0), at(22, 1))]


def test_unlabelled_posts_align_with_their_label_columns_null(store):
    add_incident(store, "inc", at(12, 0), at(13, 0), (at(12, 0), "status_update", "investigating"))
    add_posts(store, ("a", at(12, 5)), ("b", at(12, 5, 30)))
    refresh(store, SETTINGS)
    assert store.query("SELECT id, phase, sentiment, relevant, model_version FROM posts_aligned ORDER BY id") == [
        ("a", "investigating", None, None, None),
        ("b", "investigating", None, None, None),
    ]
    assert store.query("SELECT posts, relevant_posts, labelled_posts, complaint_posts, negative_share FROM incident_minutes WHERE posts > 0") == [
        (2, 0, 0, 0, None)
    ]
    (row,) = summary_rows(store)
    assert (row.first_social_spike, row.best_lag_minutes, row.top_complaints, row.top_blamed) == (None, None, {}, [])


ALIGNMENT_TABLES = (
    "alignment_windows", "alignment_phases", "aligned_posts", "minute_volume", "incident_minutes",
    "incident_minute_complaints", "incident_minute_metrics", "incident_minute_baseline", "incident_summary",
)


def dump(store: Store) -> dict[str, list[tuple]]:
    return {table: store.query(f"SELECT * FROM {table} ORDER BY ALL") for table in ALIGNMENT_TABLES}


def test_an_incremental_refresh_leaves_the_same_tables_as_a_full_rebuild(hand_built, db_path, tmp_path):
    store = hand_built
    yesterday = timedelta(days=1)
    add_posts(store, ("h0", at(12, 16) - yesterday))  # in the seasonal history of the window
    label(store, "h0", "negative", "errors")
    assert refresh(store, SETTINGS).mode == "incremental"
    assert store.query("SELECT * FROM minute_volume WHERE posts > 0") == [(at(12, 16) - yesterday, 1, 1, 1)]
    add_posts(store, ("h1", at(12, 16, 30) - yesterday), ("h2", at(12, 17) - yesterday))
    label(store, "h1", "negative", "delay")
    label(store, "h0", "neutral", "none", version="v2")  # no longer a complaint
    add_posts(store, ("n1", at(12, 40)), ("n2", at(9, 0)), ("n3", at(12, 15, 30)))
    label(store, "n1", "negative", "capacity")
    label(store, "p09", "neutral", "none", version="v2")  # relabelled by a newer model
    add_incident(store, "second", at(14, 0), at(14, 20), (at(14, 0), "alert", "investigating"))  # from 13:00: overlaps
    store.connection.execute(
        "INSERT INTO incident_events VALUES ('inc-late', 'inc', ?, 'status_update', 'identified', 't', NULL, NULL, 'yaml', now())",
        [at(12, 5)],
    )
    store.close()
    shutil.copy(db_path, tmp_path / "rebuilt.duckdb")
    with Store.open(db_path) as incremental, Store.open(tmp_path / "rebuilt.duckdb") as rebuilt:
        assert refresh(incremental, SETTINGS).mode == "incremental"
        assert refresh(rebuilt, SETTINGS, full=True).mode == "full"
        assert dump(incremental) == dump(rebuilt)
        assert incremental.query("SELECT id, incident_id, phase FROM posts_aligned WHERE id IN ('n1', 'p04', 'p07') ORDER BY id") == [
            ("n1", "inc", "resolved"),
            ("p04", "inc", "identified"),
            ("p07", "second", "before"),
        ]
        assert refresh(incremental, SETTINGS).posts_realigned == 0
        assert incremental.query("SELECT * FROM minute_volume WHERE posts > 0 AND minute < ? ORDER BY 1", [DAY]) == [
            (at(12, 16) - yesterday, 2, 2, 1),
            (at(12, 17) - yesterday, 1, 0, 0),
        ]


def test_a_query_for_one_incident_reads_only_the_materialised_rows(hand_built):
    plan = "\n".join(row[1] for row in hand_built.query("EXPLAIN SELECT * FROM posts_aligned WHERE incident_id = 'inc'"))
    assert "aligned_posts" in plan
    assert "post_labels" not in plan and "Table: posts" not in plan


def test_refreshing_a_read_only_database_is_one_clear_error(hand_built, db_path):
    hand_built.close()
    with Store.open(db_path, read_only=True) as store, pytest.raises(StoreError, match="read-only"):
        refresh(store, SETTINGS)


def test_align_command_prints_the_summary_and_rejects_an_unknown_incident(hand_built, db_path, monkeypatch, capsys):
    from pipeline.cli import main

    hand_built.close()
    monkeypatch.setattr(sys, "argv", ["groundswell", "align", "--db", str(db_path)])
    with pytest.raises(SystemExit) as exit:
        main()
    out = capsys.readouterr().out
    assert exit.value.code == 0
    assert out.startswith("alignment refreshed (incremental): 0 posts realigned, 10 posts in 1 incident window")
    assert "  first internal signal  12:00:00\n" in out
    assert "                         identified: app_crash 1, cannot_join 1, delay 1\n" in out
    monkeypatch.setattr(sys, "argv", ["groundswell", "align", "nope", "--db", str(db_path)])
    with pytest.raises(SystemExit) as exit:
        main()
    assert (exit.value.code, capsys.readouterr().err) == (1, "Error: no incident 'nope' in the alignment; incidents: inc\n")


# -- the labelled sample against the generator's truth -------------------------------------


@pytest.fixture(scope="module")
def aligned_sample(labelled_sample_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("aligned") / "sample.duckdb"
    shutil.copy(labelled_sample_db, path)
    with Store.open(path) as store:
        refresh(store, SETTINGS)
        yield {row.incident_id: row for row in summary_rows(store)}


@pytest.mark.parametrize("truth", INCIDENTS, ids=[t.id for t in INCIDENTS])
def test_the_sample_summary_shows_the_social_lead_the_generator_put_in(aligned_sample, truth):
    row = aligned_sample[truth.id]
    assert row.first_internal_signal == truth.first_internal_alert
    assert row.social_lead_minutes == pytest.approx(truth.social_lead_minutes, abs=2)
    assert abs((row.first_social_spike - truth.social_onset).total_seconds()) <= 120


@pytest.mark.parametrize("truth", INCIDENTS, ids=[t.id for t in INCIDENTS])
def test_the_sample_lagged_correlation_finds_the_generator_lag(aligned_sample, truth):
    row = aligned_sample[truth.id]
    assert row.best_lag_minutes == truth.complaint_lag_minutes
    assert row.best_lag_correlation > 0.8


@pytest.mark.parametrize("truth", INCIDENTS, ids=[t.id for t in INCIDENTS])
def test_the_sample_summary_peaks_inside_the_failure(aligned_sample, truth):
    row = aligned_sample[truth.id]
    assert truth.peak_window[0] <= row.peak_posts_at <= truth.peak_window[1]
    assert row.window_start == truth.window_start
    assert json.loads(json.dumps(row.top_complaints))  # plain JSON all the way down
