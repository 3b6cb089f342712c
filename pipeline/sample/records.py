"""The server-side files of an incident: Statuspage incidents, Prometheus metrics, the hand-written timeline."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from functools import partial

import orjson

from pipeline.sample import ids
from pipeline.sample.scenarios import COMPONENTS, Scenario
from pipeline.sample.truth import EASTERN

PAGE_NAME = "X Spaces"
PAGE_URL = "https://spaces-status.example.com"
METRIC_LABELS = {"service": "spaces", "region": "global"}


def statuspage(scenario: Scenario, rng: random.Random) -> bytes:
    """``GET /api/v2/incidents.json``: the page and its one incident, updates newest first."""
    t = scenario.truth
    page_id, incident_id = ids.short_code(rng), ids.short_code(rng)
    group_id = ids.short_code(rng)
    component_ids = {name: ids.short_code(rng) for name in COMPONENTS}
    updates = [_update(u, incident_id, component_ids, rng) for u in scenario.status_updates]
    affected = sorted({name for u in scenario.status_updates for name, _, _ in u.components}, key=COMPONENTS.index)
    stamp = partial(ids.iso_offset, zone=EASTERN)
    incident = {
        "id": incident_id,
        "name": scenario.status_name,
        "status": "resolved",
        "created_at": stamp(t.first_internal_alert),
        "updated_at": stamp(t.resolved_at + timedelta(seconds=2)),
        "monitoring_at": stamp(t.monitoring_at),
        "resolved_at": stamp(t.resolved_at),
        "impact": "major",
        "shortlink": "https://stspg.io/" + ids.short_code(rng, 7),
        "started_at": stamp(t.first_internal_alert),
        "page_id": page_id,
        "incident_updates": updates[::-1],
        "components": [
            _component(name, component_ids[name], group_id, page_id, t.resolved_at) for name in affected
        ],
        "reminder_intervals": None,
    }
    page = {"id": page_id, "name": PAGE_NAME, "url": PAGE_URL, "time_zone": "America/New_York", "updated_at": incident["updated_at"]}
    return orjson.dumps({"page": page, "incidents": [incident]}, option=orjson.OPT_INDENT_2) + b"\n"


def _update(update, incident_id: str, component_ids: dict[str, str], rng: random.Random) -> dict:
    at = ids.iso_offset(update.at, EASTERN)
    return {
        "id": ids.short_code(rng),
        "status": update.status,
        "body": update.body,
        "incident_id": incident_id,
        "created_at": at,
        "updated_at": at,
        "display_at": at,
        "affected_components": [
            {"code": component_ids[name], "name": name, "old_status": old, "new_status": new} for name, old, new in update.components
        ],
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _component(name: str, component_id: str, group_id: str, page_id: str, resolved: datetime) -> dict:
    grouped = name.startswith("Spaces")
    return {
        "id": component_id,
        "name": name,
        "status": "operational",
        "created_at": "2023-01-10T14:02:11.000-05:00",
        "updated_at": ids.iso_offset(resolved, EASTERN),
        "position": COMPONENTS.index(name) + 1,
        "description": None,
        "showcase": True,
        "start_date": "2023-01-10",
        "group_id": group_id if grouped else None,
        "page_id": page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def prometheus(scenario: Scenario, series: dict[str, list[float | None]]) -> bytes:
    """A ``query_range`` matrix, one series per metric, one ``[unix_seconds, "value"]`` pair per line."""
    start = int(scenario.truth.window_start.timestamp())
    blocks = []
    for name, values in series.items():
        metric = orjson.dumps({"__name__": name, **METRIC_LABELS}).decode()
        pairs = ",\n".join(f'[{start + 60 * i},"{_sample(name, v)}"]' for i, v in enumerate(values))
        blocks.append(f'{{"metric":{metric},"values":[\n{pairs}\n]}}')
    body = ",\n".join(blocks)
    return f'{{"status":"success","data":{{"resultType":"matrix","result":[\n{body}\n]}}}}\n'.encode()


def _sample(name: str, value: float | None) -> str:
    """Prometheus writes the shortest decimal that round-trips; "NaN" where the value is not a number."""
    if value is None:
        return "NaN"
    if name.endswith("_listeners"):
        return str(int(value))
    digits = 4 if name.endswith("_ratio") else 3
    text = repr(round(value, digits))
    return text[:-2] if text.endswith(".0") else text


def timeline_yaml(scenario: Scenario) -> bytes:
    """The hand-written timeline: what no tool recorded. Strings are JSON-quoted (valid YAML)."""
    t = scenario.truth
    q = partial(json.dumps, ensure_ascii=False)
    stamp = lambda moment: q(moment.astimezone(EASTERN).isoformat())  # noqa: E731
    out = [
        f"# Hand-written timeline of {t.id}: public statements, schedule changes and mitigations",
        "# that no monitoring tool recorded. Times are US Eastern (EDT, UTC-4).",
        "#",
        "# Shape (pipeline/timeline/manual.py): incident {id, name, service, timezone, description, keywords};",
        "# events [{at, kind, title, body}], kind one of statement | deploy | scaling_test | schedule | mitigation.",
        "# The scheduled start is the first `schedule` event.",
        "# Generated by `python -m pipeline.sample data/` from pipeline/sample/scenarios.py; edit it there.",
        "incident:",
        f"  id: {t.id}",
        f"  name: {q(t.name)}",
        f"  service: {PAGE_NAME}",
        f"  timezone: {t.timezone}",
        f"  description: {q(scenario.description)}",
        "  keywords: [" + ", ".join(q(k) for k in scenario.keywords) + "]",
        "events:",
    ]
    for event in scenario.timeline:
        out += [
            f"  - at: {stamp(event.at)}",
            f"    kind: {event.kind}",
            f"    title: {q(event.title)}",
            f"    body: {q(event.body)}",
        ]
    return ("\n".join(out) + "\n").encode()
