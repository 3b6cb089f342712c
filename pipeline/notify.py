"""Deliver stored alerts to a Slack-compatible incoming webhook.

An alert is a JSON POST ``{"text": message}`` to ``alert_webhook_url`` (the body
Slack, Mattermost, Rocket.Chat and Discord's ``/slack`` endpoints accept). Each POST
has ``alert_webhook_timeout`` seconds; timeouts, connection errors, 429 and 5xx are
retried with exponential backoff up to ``alert_webhook_attempts`` POSTs, other
answers (a wrong URL, a rejected body) are not. The outcome goes back into the
``alerts`` row: ``delivered`` with its time, or ``failed`` with the last error.
Nothing here raises on a failed delivery: a failed or still pending alert is simply
tried again by the next run, so an alert is never lost, though a webhook that
received a POST but answered too late may see it twice (at-least-once delivery).

The database is not held open while POSTing (a slow webhook would lock the
dashboard out): :func:`deliver_pending` reads the alerts, closes the store, POSTs,
then reopens it to record the outcomes in one short transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import pyarrow as pa
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from pipeline.config import Settings
from pipeline.detect import Alert, alerts_of
from pipeline.store import Store

BACKOFF_SECONDS = 0.5
"""The first wait between attempts; it doubles after each (at most 8 s)."""


@dataclass(frozen=True)
class Delivery:
    alert_id: str
    status: str  # delivered | failed
    attempts: int
    attempted_at: datetime
    error: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    deliveries: tuple[Delivery, ...]
    configured: bool

    def render(self) -> str:
        if not self.configured:
            return "alerts not sent: no alert_webhook_url configured"
        if not self.deliveries:
            return "alerts sent: none pending"
        delivered = sum(d.status == "delivered" for d in self.deliveries)
        failed = len(self.deliveries) - delivered
        line = f"alerts sent: {delivered} delivered, {failed} failed (retried on the next run)"
        errors = sorted({d.error for d in self.deliveries if d.error})
        return line + (f"; last error: {errors[-1]}" if errors else "")


def payload(alert: Alert) -> dict[str, str]:
    return {"text": alert.message}


def pending_alerts(store: Store) -> list[Alert]:
    """Alerts never delivered: raised while a webhook was configured, and not delivered yet."""
    return alerts_of(store, statuses=("pending", "failed"))


def deliver(alerts: Sequence[Alert], settings: Settings) -> list[Delivery]:
    """POST each alert, in order; never raises for a failed delivery."""
    if not alerts or not settings.alert_webhook_url:
        return []
    with httpx.Client(timeout=settings.alert_webhook_timeout) as client:
        return [_deliver_one(client, settings, alert) for alert in alerts]


def _deliver_one(client: httpx.Client, settings: Settings, alert: Alert) -> Delivery:
    attempts = 0
    retrying = Retrying(
        stop=stop_after_attempt(settings.alert_webhook_attempts),
        wait=wait_exponential(multiplier=BACKOFF_SECONDS, max=8),
        retry=retry_if_exception(_worth_retrying),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                attempts += 1
                client.post(settings.alert_webhook_url, json=payload(alert)).raise_for_status()
    except httpx.HTTPError as error:
        return Delivery(alert.id, "failed", attempts, _now(), _describe(error))
    return Delivery(alert.id, "delivered", attempts, _now())


def _worth_retrying(error: BaseException) -> bool:
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code == 429 or error.response.status_code >= 500
    return isinstance(error, httpx.TransportError)


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code} {error.response.reason_phrase}: {error.response.text[:200]}"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({type(error).__name__})"
    return f"{type(error).__name__}: {error}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


_DELIVERY_SCHEMA = pa.schema(
    [
        ("alert_id", pa.string()),
        ("status", pa.string()),
        ("attempts", pa.int32()),
        ("attempted_at", pa.timestamp("us", tz="UTC")),
        ("error", pa.string()),
    ]
)


def record(store: Store, deliveries: Sequence[Delivery]) -> None:
    """Write the outcomes into ``alerts`` in one transaction."""
    if not deliveries:
        return
    table = pa.Table.from_pylist([d.__dict__ for d in deliveries], schema=_DELIVERY_SCHEMA)
    with store.transaction():
        store.connection.register("incoming_deliveries", table)
        try:
            store.connection.execute(
                """
                UPDATE alerts SET
                    delivery_status = d.status,
                    delivery_attempts = alerts.delivery_attempts + d.attempts,
                    last_attempt_at = d.attempted_at,
                    delivered_at = CASE WHEN d.status = 'delivered' THEN d.attempted_at END,
                    last_error = d.error
                FROM incoming_deliveries d
                WHERE alerts.id = d.alert_id
                """
            )
        finally:
            store.connection.unregister("incoming_deliveries")


def deliver_pending(settings: Settings) -> DeliveryReport:
    """Send every pending or failed alert of ``settings.db_path``, holding the database only to
    read them and to record the outcomes."""
    if not settings.alert_webhook_url:
        return DeliveryReport((), configured=False)
    with Store.open(settings.db_path) as store:
        alerts = pending_alerts(store)
    deliveries = deliver(alerts, settings)
    with Store.open(settings.db_path) as store:
        record(store, deliveries)
    return DeliveryReport(tuple(deliveries), configured=True)
