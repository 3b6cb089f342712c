"""Alert delivery to a real incoming-webhook server on 127.0.0.1."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pipeline import notify
from pipeline.config import load_settings
from pipeline.detect import Alert, store_alerts
from pipeline.notify import deliver_pending
from pipeline.store import Store
from webhook_server import webhook_server


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(notify, "BACKOFF_SECONDS", 0.05)


@pytest.fixture
def webhook():
    with webhook_server() as server:
        yield server


def alert(minute: int, state: str = "incident", status: str = "pending") -> Alert:
    at = datetime(2024, 8, 13, 0, minute, tzinfo=timezone.utc)
    return Alert(
        id=f"inc/complaint_volume/{at:%Y-%m-%dT%H:%MZ}/{state}",
        incident_id="inc",
        detector="complaint_volume",
        minute=at,
        state=state,
        previous_state="normal",
        observed=37.0,
        baseline=2.0,
        threshold=13.9,
        message=f"[inc] normal -> {state} at 00:{minute:02d}",
        delivery_status=status,
    )


def stored(db_path, *alerts: Alert) -> None:
    with Store.open(db_path) as store:
        store_alerts(store, alerts)


def deliveries(db_path) -> list[tuple]:
    with Store.open(db_path, read_only=True) as store:
        return store.query(
            "SELECT id, delivery_status, delivery_attempts, delivered_at IS NOT NULL, last_error FROM alerts ORDER BY id"
        )


def settings_for(db_path, webhook, **overrides):
    return load_settings(db_path=db_path, alert_webhook_url=webhook.url, **overrides)


def test_an_alert_is_posted_as_slack_json_and_marked_delivered(db_path, webhook):
    stored(db_path, alert(3))
    report = deliver_pending(settings_for(db_path, webhook))
    assert report.render() == "alerts sent: 1 delivered, 0 failed (retried on the next run)"
    assert webhook.received == [({"text": "[inc] normal -> incident at 00:03"}, "ok")]
    assert deliveries(db_path) == [("inc/complaint_volume/2024-08-13T00:03Z/incident", "delivered", 1, True, None)]


def test_a_500_is_retried_and_the_alert_delivered_by_the_second_post(db_path, webhook):
    stored(db_path, alert(3))
    webhook.script = [500]
    deliver_pending(settings_for(db_path, webhook))
    assert [action for _, action in webhook.received] == [500, "ok"]
    assert deliveries(db_path) == [("inc/complaint_volume/2024-08-13T00:03Z/incident", "delivered", 2, True, None)]


def test_a_webhook_slower_than_the_timeout_fails_the_alert_and_the_next_run_delivers_it(db_path, webhook):
    stored(db_path, alert(3), alert(4, "elevated"))
    webhook.script = ["slow", "slow", "slow", "slow"]  # every POST of the first run
    settings = settings_for(db_path, webhook, alert_webhook_timeout=0.2, alert_webhook_attempts=2)

    first = deliver_pending(settings)  # returns instead of raising
    assert first.render() == "alerts sent: 0 delivered, 2 failed (retried on the next run); last error: timed out (ReadTimeout)"
    assert deliveries(db_path) == [
        ("inc/complaint_volume/2024-08-13T00:03Z/incident", "failed", 2, False, "timed out (ReadTimeout)"),
        ("inc/complaint_volume/2024-08-13T00:04Z/elevated", "failed", 2, False, "timed out (ReadTimeout)"),
    ]

    second = deliver_pending(settings)
    assert second.render() == "alerts sent: 2 delivered, 0 failed (retried on the next run)"
    assert deliveries(db_path) == [
        ("inc/complaint_volume/2024-08-13T00:03Z/incident", "delivered", 3, True, None),
        ("inc/complaint_volume/2024-08-13T00:04Z/elevated", "delivered", 3, True, None),
    ]
    assert webhook.answered() == ["[inc] normal -> incident at 00:03", "[inc] normal -> elevated at 00:04"]
    assert deliver_pending(settings).deliveries == ()  # nothing left to send, nothing sent twice


def test_a_rejected_post_is_not_retried_in_the_run_but_kept_for_the_next(db_path, webhook):
    stored(db_path, alert(3))
    webhook.script = [404]
    report = deliver_pending(settings_for(db_path, webhook))
    assert report.render().endswith("last error: HTTP 404 Not Found: server error")
    assert deliveries(db_path) == [
        ("inc/complaint_volume/2024-08-13T00:03Z/incident", "failed", 1, False, "HTTP 404 Not Found: server error")
    ]
    deliver_pending(settings_for(db_path, webhook))
    assert deliveries(db_path)[0][1:3] == ("delivered", 2)


def test_an_unreachable_webhook_fails_the_alert_without_raising(db_path):
    stored(db_path, alert(3))
    with webhook_server() as gone:
        url = gone.url
    report = deliver_pending(load_settings(db_path=db_path, alert_webhook_url=url, alert_webhook_attempts=2))
    assert report.render().startswith("alerts sent: 0 delivered, 1 failed (retried on the next run); last error: ConnectError")
    assert deliveries(db_path)[0][1:4] == ("failed", 2, False)


def test_without_a_webhook_url_nothing_is_sent_and_alerts_stay_as_they_are(db_path, webhook):
    stored(db_path, alert(3, status="not_configured"), alert(4, status="pending"))
    report = deliver_pending(load_settings(db_path=db_path))
    assert report.render() == "alerts not sent: no alert_webhook_url configured"
    assert [row[1] for row in deliveries(db_path)] == ["not_configured", "pending"]
    deliver_pending(settings_for(db_path, webhook))  # alerts raised with no webhook are never sent later
    assert webhook.answered() == ["[inc] normal -> incident at 00:04"]
