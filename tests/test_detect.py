"""The spike detector: the state machine on hand-made minutes, the SQL baselines on hand-built
tables, and the detector on the labelled sample against the generator's ground truth."""

from __future__ import annotations

import shutil
import sys
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.align import refresh, summary_rows
from pipeline.config import load_settings
from pipeline.detect import DetectorParams, MinuteBaseline, evaluate, first_spike, run_detector
from pipeline.errors import UnknownIncident
from pipeline.sample.truth import INCIDENTS
from pipeline.store import Store

START = datetime(2024, 1, 1, 20, 0, tzinfo=timezone.utc)
SETTINGS = load_settings()
PARAMS = DetectorParams.from_settings(SETTINGS)  # elevated z 4, incident z 8, exit at half, 5 posts, 2 in, 10 out


def minutes(observed: list[int], baseline: float = 2.0, scale: float = 1.5, seasonal: bool = False) -> list[MinuteBaseline]:
    """Thresholds with these defaults: elevated 8 (exit 5), incident 14 (exit 8)."""
    return [MinuteBaseline(START + timedelta(minutes=i), x, baseline, scale, seasonal) for i, x in enumerate(observed)]


def changes(rows: list[MinuteBaseline]) -> list[tuple[int, str, str, int]]:
    """(minute index, from, to, run start index) of each transition."""
    return [
        (int((t.minute - START).total_seconds() // 60), t.previous_state, t.state, int((t.run_start - START).total_seconds() // 60))
        for t in evaluate(rows, PARAMS)
    ]


def test_a_one_minute_burst_raises_nothing():
    assert changes(minutes([2] * 10 + [60] + [2] * 10 + [9] + [3] * 5)) == []


def test_a_sustained_rise_enters_the_incident_state_once_enter_minutes_are_above():
    rows = minutes([2] * 10 + [30] * 20)
    assert changes(rows) == [(11, "normal", "incident", 10)]
    assert first_spike(evaluate(rows, PARAMS)) == START + timedelta(minutes=10)


def test_the_states_climb_one_at_a_time_when_the_rise_does():
    assert changes(minutes([2] * 5 + [10, 10, 10] + [20] * 5)) == [(6, "normal", "elevated", 5), (9, "elevated", "incident", 8)]


def test_a_state_is_left_only_after_exit_minutes_below_its_lower_threshold():
    dip = [30] * 5 + [3] * 9 + [30] * 3  # nine quiet minutes: not enough
    assert changes(minutes(dip)) == [(1, "normal", "incident", 0)]
    calm = [30] * 5 + [6] * 10 + [3] * 10  # 6 is below the incident's lower 8 but not the elevated's 5
    assert changes(minutes(calm)) == [(1, "normal", "incident", 0), (14, "incident", "elevated", 5), (24, "elevated", "normal", 15)]


def test_a_rolling_baseline_is_frozen_while_out_of_normal_so_a_long_outage_stays_an_incident():
    # The rolling median catches up with the outage after half an hour; the frozen one does not.
    rows = [MinuteBaseline(START + timedelta(minutes=i), 40, 2.0 if i < 15 else 40.0, 1.5 if i < 15 else 6.3, False) for i in range(60)]
    assert changes(rows) == [(1, "normal", "incident", 0)]


def test_a_seasonal_baseline_is_not_frozen():
    rows = [MinuteBaseline(START + timedelta(minutes=i), 40, 2.0 if i < 15 else 40.0, 1.5 if i < 15 else 6.3, True) for i in range(60)]
    assert changes(rows) == [(1, "normal", "incident", 0), (24, "incident", "normal", 15)]


def test_warm_up_minutes_without_a_baseline_are_not_judged():
    rows = [MinuteBaseline(START + timedelta(minutes=i), 50, None, None, False) for i in range(10)] + minutes([2] * 5)
    assert changes(rows) == []


# -- baselines in SQL, on hand-built tables ----------------------------------------------------


def daily_posts(store: Store, days: range, peak: int = 15) -> None:
    """Every day 19:00-21:59 UTC: one relevant complaint a minute, and ``peak`` a minute from 20:00 to 20:19
    (a nightly show that always draws complaints)."""
    store.connection.execute(
        f"""
        CREATE TEMP TABLE daily AS
        SELECT 'd' || d || '-' || m || '-' || n AS id,
               TIMESTAMPTZ '2024-01-01 19:00:00+00' + to_days(d::INTEGER) + to_minutes(m::INTEGER) + to_seconds(n::INTEGER) AS created_at
        FROM range({days.start}, {days.stop}) a(d), range(180) b(m),
             LATERAL range(CASE WHEN m BETWEEN 60 AND 79 THEN {peak} ELSE 1 END) c(n)
        """
    )
    store.connection.execute(
        "INSERT INTO posts (id, source, native_id, text, created_at, ingested_at) SELECT id, 'x', id, 'down', created_at, now() FROM daily"
    )
    store.connection.execute(
        "INSERT INTO post_labels (post_id, model_version, is_english, sentiment, complaint_type, relevant, classified_at) "
        "SELECT id, 'v1', true, 'negative', 'cannot_join', true, now() FROM daily"
    )
    store.connection.execute("DROP TABLE daily")


def incident_on_day(store: Store, day: int) -> None:
    started = datetime(2024, 1, 1 + day, 20, 30, tzinfo=timezone.utc)
    store.connection.execute(
        "INSERT INTO incidents (id, name, started_at, resolved_at, source, imported_at) VALUES ('inc', 'inc', ?, ?, 'yaml', now())",
        [started, started + timedelta(minutes=30)],
    )


def test_the_rolling_baseline_is_the_median_and_mad_of_the_preceding_minutes(store):
    daily_posts(store, range(7, 8))
    incident_on_day(store, 7)
    refresh(store, SETTINGS)
    rows = store.query(
        "SELECT minute, observed, baseline, scale, seasonal, history_days FROM incident_minute_baseline WHERE minute IN (?, ?, ?)",
        [datetime(2024, 1, 8, 19, 30, tzinfo=timezone.utc) + timedelta(minutes=k) for k in (9, 10, 40)],
    )
    day = datetime(2024, 1, 8, tzinfo=timezone.utc)
    assert rows == [
        (day.replace(hour=19, minute=39), 1, None, None, False, 0),  # nine preceding minutes: still warming up
        (day.replace(hour=19, minute=40), 1, 1.0, 1.0, False, 0),  # ten ones: median 1, MAD 0, floor sqrt(1)
        (day.replace(hour=20, minute=10), 15, 1.0, 1.0, False, 0),  # 19:40-20:09: twenty ones and ten 15s
    ]


def test_a_daily_peak_is_no_spike_against_seven_days_of_history_but_is_one_without(store, tmp_path):
    daily_posts(store, range(0, 8))
    incident_on_day(store, 7)
    refresh(store, SETTINGS)
    minute = datetime(2024, 1, 8, 20, 5, tzinfo=timezone.utc)
    assert store.query("SELECT observed, baseline, seasonal, history_days FROM incident_minute_baseline WHERE minute = ?", [minute]) == [
        (15, 15.0, True, 7)
    ]
    assert run_detector(store, SETTINGS).alerts == ()

    with Store.open(tmp_path / "no-history.duckdb") as alone:
        daily_posts(alone, range(7, 8))
        incident_on_day(alone, 7)
        refresh(alone, SETTINGS)
        states = [(alert.minute.strftime("%H:%M"), alert.state) for alert in run_detector(alone, SETTINGS).alerts]
    assert states[0] == ("20:01", "incident")


def test_running_the_detector_again_raises_nothing_twice(store):
    daily_posts(store, range(7, 8))
    incident_on_day(store, 7)
    refresh(store, SETTINGS)
    first = run_detector(store, SETTINGS)
    again = run_detector(store, SETTINGS)
    assert (first.new, again.new) == (len(first.alerts), 0)
    assert again.alerts == first.alerts
    assert {alert.delivery_status for alert in first.alerts} == {"not_configured"}
    assert first.alerts[0].message == (
        "[inc] normal -> incident at 2024-01-08 20:01 UTC: 15 relevant complaint posts/min, at or above 9.0 for 2 min "
        "(rolling baseline 1.0)"
    )


def test_an_unknown_incident_is_one_error_line(store, db_path, monkeypatch, capsys):
    from pipeline.cli import main

    incident_on_day(store, 7)
    refresh(store, SETTINGS)
    with pytest.raises(UnknownIncident, match="no aligned incident 'nope'; incidents: inc"):
        run_detector(store, SETTINGS, "nope")
    store.close()
    monkeypatch.setattr(sys, "argv", ["groundswell", "detect", "nope", "--db", str(db_path)])
    with pytest.raises(SystemExit) as exit:
        main()
    assert (exit.value.code, capsys.readouterr().err) == (1, "Error: no aligned incident 'nope'; incidents: inc\n")


# -- the labelled sample against the generator's truth -------------------------------------------


@pytest.fixture(scope="module")
def detected_sample(labelled_sample_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("detected") / "sample.duckdb"
    shutil.copy(labelled_sample_db, path)
    with Store.open(path) as store:
        refresh(store, SETTINGS)
        alerts = run_detector(store, SETTINGS).alerts
        spikes = {row.incident_id: row.first_social_spike for row in summary_rows(store)}
    return alerts, spikes


@pytest.mark.parametrize("truth", INCIDENTS, ids=[t.id for t in INCIDENTS])
def test_the_first_incident_alert_comes_within_five_minutes_of_the_social_onset(detected_sample, truth):
    alerts, _ = detected_sample
    first = next(alert for alert in alerts if alert.incident_id == truth.id and alert.state == "incident")
    assert truth.social_onset <= first.minute <= truth.social_onset + timedelta(minutes=5)


@pytest.mark.parametrize("truth", INCIDENTS, ids=[t.id for t in INCIDENTS])
def test_no_alert_of_any_level_in_the_quiet_hour_before_the_scheduled_start(detected_sample, truth):
    alerts, _ = detected_sample
    quiet = (truth.scheduled_start - timedelta(hours=1), truth.scheduled_start)
    assert [alert.id for alert in alerts if alert.incident_id == truth.id and alert.minute < quiet[1]] == []
    assert min(alert.minute for alert in alerts if alert.incident_id == truth.id) >= quiet[1]


@pytest.mark.parametrize("truth", INCIDENTS, ids=[t.id for t in INCIDENTS])
def test_the_summary_first_spike_is_where_the_detector_first_left_normal(detected_sample, truth):
    alerts, spikes = detected_sample
    first = next(alert for alert in alerts if alert.incident_id == truth.id)
    assert first.previous_state == "normal"
    assert spikes[truth.id] == first.minute - timedelta(minutes=PARAMS.enter_minutes - 1)


def test_the_detect_command_stores_sends_and_prints_the_alerts(store, db_path, monkeypatch, capsys):
    from pipeline.cli import main
    from webhook_server import webhook_server

    daily_posts(store, range(7, 8))
    incident_on_day(store, 7)
    store.close()
    with webhook_server() as webhook:
        monkeypatch.setenv("GROUNDSWELL_ALERT_WEBHOOK_URL", webhook.url)
        monkeypatch.setattr(sys, "argv", ["groundswell", "detect", "inc", "--db", str(db_path)])
        with pytest.raises(SystemExit) as exit:
            main()
    lines = capsys.readouterr().out.splitlines()
    assert exit.value.code == 0
    assert lines[0] == f"detector complaint_volume: {len(lines) - 2} alerts ({len(lines) - 2} new)"
    assert lines[1] == "2024-01-08 20:01 UTC  inc  normal -> incident  15 complaints/min (baseline 1.0, threshold 9.0)  [delivered]"
    assert lines[-1] == f"alerts sent: {len(lines) - 2} delivered, 0 failed (retried on the next run)"
    assert len(webhook.answered()) == len(lines) - 2


def test_mid_replay_the_minutes_not_yet_played_do_not_end_the_incident(labelled_sample_db, tmp_path):
    """Half-way through a live replay the window's later minutes are still empty; the detector must
    judge only up to the newest post, or those zeros would read as the outage being over."""
    db = tmp_path / "mid-replay.duckdb"
    shutil.copy(labelled_sample_db, db)
    cut = datetime(2024, 8, 13, 0, 20, tzinfo=timezone.utc)
    settings = load_settings(db_path=db)
    with Store.open(db) as store:
        store.connection.execute("DELETE FROM post_labels WHERE post_id IN (SELECT id FROM posts WHERE created_at >= ?)", [cut])
        store.connection.execute("DELETE FROM posts WHERE created_at >= ?", [cut])
        refresh(store, settings, full=True)
        run_detector(store, settings, "spaces-2024-08-12")
        states = store.query(
            "SELECT minute, state FROM alerts WHERE incident_id = 'spaces-2024-08-12' ORDER BY minute"
        )
    assert states and states[-1][1] == "incident"  # still in the incident: nothing after the cut is judged
    assert all(minute < cut for minute, _ in states)
