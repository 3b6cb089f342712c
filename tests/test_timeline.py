"""The timeline and metric importers: real-shape documents into a real DuckDB file."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.errors import TimelineError, UnknownFormat
from pipeline.store import Store
from pipeline.timeline import (
    IncidentRow,
    ImportReport,
    detect_format,
    import_timeline,
    parse_statuspage,
)

DATA = Path(__file__).resolve().parent.parent / "data"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# -- documents, in the shapes the real tools export --------------------------------------

def _maintenance_update(update_id: str, status: str, body: str, at: str) -> dict:
    return {"id": update_id, "status": status, "body": body, "created_at": at, "display_at": at}


STATUSPAGE = {
    "page": {
        "id": "y2j98763l56x",
        "name": "X Spaces",
        "url": "https://status.example.com",
        "time_zone": "America/New_York",
        "updated_at": "2024-08-14T10:00:00.000-04:00",
    },
    "incidents": [
        {
            "id": "k7x2m9p4q1rs",
            "name": "Listeners cannot join Spaces",
            "status": "postmortem",
            "impact": "major",
            "created_at": "2024-08-12T20:05:11.482-04:00",
            "started_at": "2024-08-12T20:02:00.000-04:00",
            "resolved_at": "2024-08-12T21:58:40.120-04:00",
            "shortlink": "https://stspg.io/k7x2m9p4",
            "page_id": "y2j98763l56x",
            # newest first, as Statuspage sends them, with one out of place
            "incident_updates": [
                {
                    "id": "u4resolved",
                    "status": "resolved",
                    "body": "This incident has been resolved.",
                    "incident_id": "k7x2m9p4q1rs",
                    "created_at": "2024-08-12T21:58:40.120-04:00",
                    "updated_at": "2024-08-12T21:58:40.120-04:00",
                    "display_at": "2024-08-12T21:58:40.120-04:00",
                    "affected_components": [
                        {"code": "c1", "name": "Spaces audio", "old_status": "major_outage", "new_status": "operational"}
                    ],
                    "deliver_notifications": True,
                },
                {
                    "id": "u2identified",
                    "status": "identified",
                    "body": "We have identified elevated load on the audio servers.",
                    "incident_id": "k7x2m9p4q1rs",
                    "created_at": "2024-08-12T20:31:05.000-04:00",
                    "updated_at": "2024-08-12T20:31:05.000-04:00",
                    "display_at": "2024-08-12T20:31:05.000-04:00",
                    "affected_components": [
                        {"code": "c1", "name": "Spaces audio", "old_status": "partial_outage", "new_status": "major_outage"},
                        {"code": "c2", "name": "Spaces join", "old_status": "operational", "new_status": "major_outage"},
                    ],
                },
                {
                    "id": "u5postmortem",
                    "status": "postmortem",
                    "body": "A capacity limit in the audio tier, not an attack.",
                    "incident_id": "k7x2m9p4q1rs",
                    "created_at": "2024-08-14T10:00:00.000-04:00",
                    "updated_at": "2024-08-14T10:00:00.000-04:00",
                    "display_at": None,
                    "affected_components": None,
                },
                {
                    "id": "u3monitoring",
                    "status": "monitoring",
                    "body": "A fix has been implemented and we are monitoring the results.",
                    "incident_id": "k7x2m9p4q1rs",
                    "created_at": "2024-08-12T21:12:30.000-04:00",
                    "updated_at": "2024-08-12T21:12:30.000-04:00",
                    "display_at": "2024-08-12T21:12:30.000-04:00",
                    "affected_components": [],
                },
                {
                    "id": "u1investigating",
                    "status": "investigating",
                    "body": "We are investigating reports of listeners unable to join Spaces.",
                    "incident_id": "k7x2m9p4q1rs",
                    "created_at": "2024-08-12T20:05:11.482-04:00",
                    "updated_at": "2024-08-12T20:05:11.482-04:00",
                    "display_at": "2024-08-12T20:04:00.000-04:00",
                    "affected_components": [
                        {"code": "c1", "name": "Spaces audio", "old_status": "operational", "new_status": "partial_outage"}
                    ],
                },
            ],
            "components": [],
        },
        {
            "id": "m3n8b5v2c6xz",
            "name": "Capacity test of the Spaces audio tier",
            "status": "completed",
            "impact": "maintenance",
            "created_at": "2024-08-09T18:00:00.000Z",
            "started_at": None,
            "resolved_at": "2024-08-10T03:45:00.000Z",
            "page_id": "y2j98763l56x",
            "incident_updates": [
                _maintenance_update("w4", "completed", "Done.", "2024-08-10T03:45:00.000Z"),
                _maintenance_update("w3", "verifying", "Verifying.", "2024-08-10T03:30:00.000Z"),
                _maintenance_update("w2", "in_progress", "Under way.", "2024-08-10T02:00:00.000Z"),
                _maintenance_update("w1", "scheduled", "Planned.", "2024-08-09T18:00:00.000Z"),
            ],
        },
    ],
}

PAGERDUTY = {
    "log_entries": [
        {
            "id": "R3S0LV3D",
            "type": "resolve_log_entry",
            "summary": "Resolved by Dana Ops",
            "self": "https://api.pagerduty.com/log_entries/R3S0LV3D",
            "html_url": None,
            "created_at": "2024-08-13T01:50:02Z",
            "agent": {"id": "PUSER01", "type": "user_reference", "summary": "Dana Ops"},
            "channel": {"type": "web_ui"},
            "service": {"id": "PSVC001", "type": "service_reference", "summary": "spaces-audio"},
            "incident": {"id": "Q1SPACES0812", "type": "incident_reference", "summary": "[#4242] SFU join errors above 5%"},
            "teams": [],
        },
        {
            "id": "N0T3ADD3D",
            "type": "annotate_log_entry",
            "summary": "Note added",
            "created_at": "2024-08-13T00:21:40Z",
            "agent": {"id": "PUSER01", "type": "user_reference", "summary": "Dana Ops"},
            "channel": {"type": "note", "summary": "Listener spike, not an attack; adding SFU capacity"},
            "incident": {"id": "Q1SPACES0812", "type": "incident_reference", "summary": "[#4242] SFU join errors above 5%"},
        },
        {
            "id": "ACK0001",
            "type": "acknowledge_log_entry",
            "summary": "Acknowledged by Dana Ops",
            "created_at": "2024-08-13T00:03:10Z",
            "agent": {"id": "PUSER01", "type": "user_reference", "summary": "Dana Ops"},
            "channel": {"type": "mobile"},
            "incident": {"id": "Q1SPACES0812", "type": "incident_reference", "summary": "[#4242] SFU join errors above 5%"},
        },
        {
            "id": "ESC0001",
            "type": "escalate_log_entry",
            "summary": "Escalated to level 2 of Spaces on-call",
            "created_at": "2024-08-13T00:02:30Z",
            "channel": {"type": "timeout"},
            "incident": {"id": "Q1SPACES0812", "type": "incident_reference", "summary": "[#4242] SFU join errors above 5%"},
        },
        {
            "id": "TRIG0001",
            "type": "trigger_log_entry",
            "summary": "Triggered through the API.",
            "created_at": "2024-08-12T23:58:12Z",
            "agent": {"id": "PINTEG1", "type": "events_api_v2_inbound_integration_reference", "summary": "Prometheus"},
            "channel": {
                "type": "api",
                "summary": "SFU join error rate 7.9% on spaces-sfu",
                "details": {"firing": "job=sfu"},
            },
            "service": {"id": "PSVC001", "type": "service_reference", "summary": "spaces-audio"},
            "incident": {"id": "Q1SPACES0812", "type": "incident_reference", "summary": "[#4242] SFU join errors above 5%"},
        },
    ],
    "limit": 100,
    "offset": 0,
    "more": False,
    "total": None,
}

PROMETHEUS = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {
                "metric": {"__name__": "spaces_join_error_ratio", "job": "sfu", "instance": "sfu-1:9100"},
                "values": [[1723507200, "0.012"], [1723507260, "0.079"], [1723507320, "NaN"]],
            },
            {
                "metric": {"__name__": "spaces_join_error_ratio", "job": "sfu", "instance": "sfu-2:9100"},
                "values": [[1723507200, "0.010"], [1723507260.5, "+Inf"]],
            },
        ],
    },
}

TIMELINE_YAML = """\
incident:
  id: spaces-2024-08-12
  name: X Spaces fails at the Trump interview
  service: X Spaces
  timezone: America/New_York
  started_at: 2024-08-12 20:00
  description: The live interview started 40 minutes late; users could not join.
  keywords: [spaces, trump, ddos]
events:
  - at: 2024-08-12 20:00            # naive: New York time
    kind: schedule_change
    title: Scheduled start passes, Space not live
  - at: 2024-08-13T00:21:00Z        # with an offset
    kind: statement
    title: Owner blames a massive DDOS attack
    body: There appears to be a massive DDOS attack on X.
    phase: identified
    components: [audio, join]
  - at: 2024-08-12T20:42:00-04:00   # YAML reads this as a timestamp with its offset
    kind: mitigation
    title: Space restarts with fewer listeners
    phase: monitoring
"""

TIMELINE_CSV = '''\
incident_id,at,kind,title,body,phase,timezone
spaces-2023-05-24,2023-05-24 18:00,statement,Launch Space begins,,,America/New_York
spaces-2023-05-24,2023-05-24T22:26:00Z,statement,"Host: ""the servers are melting""",Said live on air,investigating,
other-incident,2023-05-25 09:00,deploy,Audio tier scaled out,,resolved,
'''


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "groundswell.duckdb") as store:
        yield store


@pytest.fixture
def files(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()

    def write(name: str, content: object) -> Path:
        path = folder / name
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        return path

    return write


def incidents(store: Store) -> list[tuple]:
    return store.query(
        "SELECT id, name, service, timezone, started_at, resolved_at, impact, description, keywords, source "
        "FROM incidents ORDER BY id"
    )


def events(store: Store) -> list[tuple]:
    return store.query(
        "SELECT id, incident_id, occurred_at, kind, phase, title, body, components, source "
        "FROM incident_events ORDER BY occurred_at, id"
    )


def metrics(store: Store) -> list[tuple]:
    return store.query("SELECT metric, labels, observed_at, value, source FROM metrics ORDER BY labels, observed_at")


def snapshot(store: Store) -> list[list[tuple]]:
    return [store.query(f"SELECT * FROM {table} ORDER BY ALL") for table in ("incidents", "incident_events", "metrics")]


# -- Statuspage ----------------------------------------------------------------------------


def test_statuspage_incidents_and_updates_are_stored_in_utc_and_time_order(store, files):
    report = import_timeline(store, files("statuspage.json", STATUSPAGE))

    assert report == ImportReport(origin=report.origin, format="statuspage", incidents=2, events=9, written=11)
    assert incidents(store) == [
        ("statuspage:k7x2m9p4q1rs", "Listeners cannot join Spaces", "X Spaces", "America/New_York",
         utc("2024-08-13 00:02:00"), utc("2024-08-13 01:58:40.120"), "major", None, None, "statuspage"),
        ("statuspage:m3n8b5v2c6xz", "Capacity test of the Spaces audio tier", "X Spaces", "America/New_York",
         utc("2024-08-09 18:00:00"), utc("2024-08-10 03:45:00"), "maintenance", None, None, "statuspage"),
    ]  # fmt: skip
    incident, test = "statuspage:k7x2m9p4q1rs", "statuspage:m3n8b5v2c6xz"
    assert events(store) == [
        ("statuspage:w1", test, utc("2024-08-09 18:00"), "status_update", None, "Scheduled", "Planned.", None,
         "statuspage"),
        ("statuspage:w2", test, utc("2024-08-10 02:00"), "status_update", "identified", "In progress", "Under way.", None,
         "statuspage"),
        ("statuspage:w3", test, utc("2024-08-10 03:30"), "status_update", "monitoring", "Verifying", "Verifying.", None,
         "statuspage"),
        ("statuspage:w4", test, utc("2024-08-10 03:45"), "status_update", "resolved", "Completed", "Done.", None,
         "statuspage"),
        ("statuspage:u1investigating", incident, utc("2024-08-13 00:04:00"), "status_update", "investigating", "Investigating",
         "We are investigating reports of listeners unable to join Spaces.", ["Spaces audio"], "statuspage"),
        ("statuspage:u2identified", incident, utc("2024-08-13 00:31:05"), "status_update", "identified", "Identified",
         "We have identified elevated load on the audio servers.", ["Spaces audio", "Spaces join"], "statuspage"),
        ("statuspage:u3monitoring", incident, utc("2024-08-13 01:12:30"), "status_update", "monitoring", "Monitoring",
         "A fix has been implemented and we are monitoring the results.", None, "statuspage"),
        ("statuspage:u4resolved", incident, utc("2024-08-13 01:58:40.120"), "status_update", "resolved", "Resolved",
         "This incident has been resolved.", ["Spaces audio"], "statuspage"),
        ("statuspage:u5postmortem", incident, utc("2024-08-14 14:00"), "status_update", "resolved", "Postmortem",
         "A capacity limit in the audio tier, not an attack.", None, "statuspage"),
    ]  # fmt: skip


def test_statuspage_single_incident_attaches_to_the_given_incident_without_a_database():
    single = STATUSPAGE["incidents"][1]

    timeline = parse_statuspage(single, origin="one.json", incident_id="capacity-test")

    assert timeline.incidents == (
        IncidentRow(
            id="capacity-test",
            source="statuspage",
            name="Capacity test of the Spaces audio tier",
            started_at=utc("2024-08-09 18:00"),
            resolved_at=utc("2024-08-10 03:45"),
            impact="maintenance",
        ),
    )
    assert [(e.id, e.incident_id, e.phase) for e in timeline.events] == [
        ("statuspage:w1", "capacity-test", None),
        ("statuspage:w2", "capacity-test", "identified"),
        ("statuspage:w3", "capacity-test", "monitoring"),
        ("statuspage:w4", "capacity-test", "resolved"),
    ]


def test_statuspage_bare_list_of_incidents_is_read_like_the_page_response():
    timeline = parse_statuspage(STATUSPAGE["incidents"], origin="list.json")

    assert [i.id for i in timeline.incidents] == ["statuspage:k7x2m9p4q1rs", "statuspage:m3n8b5v2c6xz"]
    assert len(timeline.events) == 9
    assert timeline.incidents[0].service is None


def test_statuspage_document_with_several_incidents_refuses_one_incident_id(store, files):
    path = files("statuspage.json", STATUSPAGE)

    with pytest.raises(TimelineError) as caught:
        import_timeline(store, path, incident_id="spaces-2024-08-12")

    assert str(caught.value) == (
        f"{path}: the document: holds 2 incidents (k7x2m9p4q1rs, m3n8b5v2c6xz) but one incident id "
        "('spaces-2024-08-12') was given, so their updates would mix into one timeline; import it without an "
        "incident id, or split it into one file per incident; nothing from the file was imported"
    )
    assert snapshot(store) == [[], [], []]


# -- PagerDuty -------------------------------------------------------------------------------


def test_pagerduty_log_entries_become_alert_acknowledge_note_and_resolve_events(store, files):
    report = import_timeline(store, files("log_entries.json", PAGERDUTY))

    assert (report.format, report.incidents, report.events) == ("pagerduty", 1, 5)
    assert incidents(store) == [
        ("pagerduty:Q1SPACES0812", "[#4242] SFU join errors above 5%", "spaces-audio", "UTC",
         utc("2024-08-12 23:58:12"), utc("2024-08-13 01:50:02"), None, None, None, "pagerduty"),
    ]  # fmt: skip
    incident = "pagerduty:Q1SPACES0812"
    assert events(store) == [
        ("pagerduty:TRIG0001", incident, utc("2024-08-12 23:58:12"), "alert", "investigating",
         "Triggered through the API.", "SFU join error rate 7.9% on spaces-sfu", None, "pagerduty"),
        ("pagerduty:ESC0001", incident, utc("2024-08-13 00:02:30"), "escalate", None,
         "Escalated to level 2 of Spaces on-call", None, None, "pagerduty"),
        ("pagerduty:ACK0001", incident, utc("2024-08-13 00:03:10"), "acknowledge", "investigating",
         "Acknowledged by Dana Ops", None, None, "pagerduty"),
        ("pagerduty:N0T3ADD3D", incident, utc("2024-08-13 00:21:40"), "note", None,
         "Note added", "Listener spike, not an attack; adding SFU capacity", None, "pagerduty"),
        ("pagerduty:R3S0LV3D", incident, utc("2024-08-13 01:50:02"), "alert_resolved", "resolved",
         "Resolved by Dana Ops", None, None, "pagerduty"),
    ]  # fmt: skip


# -- Prometheus -------------------------------------------------------------------------------


def test_prometheus_matrix_stores_one_row_per_point_with_nan_and_inf_as_null(store, files):
    report = import_timeline(store, files("metrics.prometheus.json", PROMETHEUS))

    assert (report.format, report.metrics, report.written) == ("prometheus", 5, 5)
    one, two = '{"instance":"sfu-1:9100","job":"sfu"}', '{"instance":"sfu-2:9100","job":"sfu"}'
    assert metrics(store) == [
        ("spaces_join_error_ratio", one, utc("2024-08-13 00:00:00"), 0.012, "prometheus"),
        ("spaces_join_error_ratio", one, utc("2024-08-13 00:01:00"), 0.079, "prometheus"),
        ("spaces_join_error_ratio", one, utc("2024-08-13 00:02:00"), None, "prometheus"),
        ("spaces_join_error_ratio", two, utc("2024-08-13 00:00:00"), 0.010, "prometheus"),
        ("spaces_join_error_ratio", two, utc("2024-08-13 00:01:00.5"), None, "prometheus"),
    ]


def test_prometheus_reimport_replaces_the_same_points_instead_of_duplicating_them(store, files):
    import_timeline(store, files("metrics.json", PROMETHEUS))
    changed = json.loads(json.dumps(PROMETHEUS))
    changed["data"]["result"][0]["values"][0][1] = "0.5"

    report = import_timeline(store, files("metrics.json", changed))

    assert (report.written, report.unchanged) == (1, 4)
    assert store.query("SELECT count(*), sum(value) FROM metrics") == [(5, 0.5 + 0.079 + 0.010)]


def test_prometheus_vector_of_an_unnamed_expression_takes_the_metric_name_given(store, files):
    vector = {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {"job": "sfu"}, "value": [1723507200.25, "812345"]}]},
    }

    import_timeline(store, files("listeners.json", vector), metric_name="spaces_listeners")

    assert metrics(store) == [("spaces_listeners", '{"job":"sfu"}', utc("2024-08-13 00:00:00.25"), 812345.0, "prometheus")]


# -- hand-written YAML and CSV -----------------------------------------------------------------


def test_yaml_timeline_reads_naive_times_in_the_incident_timezone_and_keeps_offsets(store, files):
    report = import_timeline(store, files("timeline.yaml", TIMELINE_YAML))

    assert (report.format, report.incidents, report.events) == ("yaml", 1, 3)
    assert incidents(store) == [
        ("spaces-2024-08-12", "X Spaces fails at the Trump interview", "X Spaces", "America/New_York",
         utc("2024-08-13 00:00"), None, None, "The live interview started 40 minutes late; users could not join.",
         ["spaces", "trump", "ddos"], "yaml"),
    ]  # fmt: skip
    assert events(store) == [
        ("yaml:spaces-2024-08-12:1", "spaces-2024-08-12", utc("2024-08-13 00:00"), "schedule_change", None,
         "Scheduled start passes, Space not live", None, None, "yaml"),
        ("yaml:spaces-2024-08-12:2", "spaces-2024-08-12", utc("2024-08-13 00:21"), "statement", "identified",
         "Owner blames a massive DDOS attack", "There appears to be a massive DDOS attack on X.", ["audio", "join"], "yaml"),
        ("yaml:spaces-2024-08-12:3", "spaces-2024-08-12", utc("2024-08-13 00:42"), "mitigation", "monitoring",
         "Space restarts with fewer listeners", None, None, "yaml"),
    ]  # fmt: skip


def test_csv_timeline_reads_the_timezone_column_and_names_unknown_incidents_by_id(store, files):
    import_timeline(store, files("timeline.csv", TIMELINE_CSV))

    assert [(row[0], row[1], row[3], row[9]) for row in incidents(store)] == [
        ("other-incident", "other-incident", "UTC", "csv"),
        ("spaces-2023-05-24", "spaces-2023-05-24", "UTC", "csv"),
    ]
    assert events(store) == [
        ("csv:spaces-2023-05-24:1", "spaces-2023-05-24", utc("2023-05-24 22:00"), "statement", None,
         "Launch Space begins", None, None, "csv"),
        ("csv:spaces-2023-05-24:2", "spaces-2023-05-24", utc("2023-05-24 22:26"), "statement", "investigating",
         'Host: "the servers are melting"', "Said live on air", None, "csv"),
        ("csv:other-incident:1", "other-incident", utc("2023-05-25 09:00"), "deploy", "resolved",
         "Audio tier scaled out", None, None, "csv"),
    ]  # fmt: skip


def test_reimporting_an_edited_yaml_timeline_removes_the_events_taken_out_of_it(store, files):
    import_timeline(store, files("timeline.yaml", TIMELINE_YAML))
    shorter = TIMELINE_YAML.split("  - at: 2024-08-13T00:21:00Z")[0]

    report = import_timeline(store, files("timeline.yaml", shorter))

    assert (report.events, report.removed) == (1, 2)
    assert [row[0] for row in events(store)] == ["yaml:spaces-2024-08-12:1"]


# -- idempotence and merging ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "document"),
    [
        ("statuspage.json", STATUSPAGE),
        ("log.json", PAGERDUTY),
        ("metrics.json", PROMETHEUS),
        ("timeline.yaml", TIMELINE_YAML),
        ("timeline.csv", TIMELINE_CSV),
    ],
)
def test_reimporting_the_same_file_changes_nothing(store, files, name, document):
    path = files(name, document)
    first = import_timeline(store, path)
    before = snapshot(store)

    again = import_timeline(store, path)

    assert snapshot(store) == before
    assert (again.written, again.unchanged, again.removed) == (0, first.written, 0)


STATUSPAGE_FOR_YAML = {**STATUSPAGE["incidents"][0], "incident_updates": STATUSPAGE["incidents"][0]["incident_updates"][:2]}
MERGED = (
    "spaces-2024-08-12", "X Spaces fails at the Trump interview", "X Spaces", "America/New_York",
    utc("2024-08-13 00:02:00"), utc("2024-08-13 01:58:40.120"), "major",
    "The live interview started 40 minutes late; users could not join.", ["spaces", "trump", "ddos"], "statuspage,yaml",
)  # fmt: skip


def test_yaml_then_statuspage_merge_into_one_incident_keeping_each_side_s_strengths(store, files):
    import_timeline(store, files("timeline.yaml", TIMELINE_YAML))
    import_timeline(store, files("statuspage.json", STATUSPAGE_FOR_YAML), incident_id="spaces-2024-08-12")

    assert incidents(store) == [MERGED]
    assert store.query("SELECT source, count(*) FROM incident_events GROUP BY ALL ORDER BY 1") == [
        ("statuspage", 2),
        ("yaml", 3),
    ]


def test_statuspage_then_yaml_merge_to_the_same_incident_row(store, files):
    import_timeline(store, files("statuspage.json", STATUSPAGE_FOR_YAML), incident_id="spaces-2024-08-12")
    import_timeline(store, files("timeline.yaml", TIMELINE_YAML))
    before = snapshot(store)

    again = import_timeline(store, files("timeline.yaml", TIMELINE_YAML))

    assert incidents(store) == [MERGED]
    assert (again.written, snapshot(store)) == (0, before)


# -- malformed input -------------------------------------------------------------------------------


def _broken_statuspage(path: tuple, value: object = None) -> dict:
    """STATUSPAGE with the key at ``path`` set to ``value`` (deleted when value is None)."""
    document = json.loads(json.dumps(STATUSPAGE))
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


_TIMELESS = _broken_statuspage(("incidents", 1, "incident_updates", 2, "display_at"))
del _TIMELESS["incidents"][1]["incident_updates"][2]["created_at"]
MALFORMED = {
    "missing time": (
        "statuspage.json",
        _TIMELESS,
        "incidents[1].incident_updates[2]: has neither display_at nor created_at, so it has no time",
    ),
    "blank time": (
        "statuspage.json",
        _broken_statuspage(("incidents", 1, "incident_updates", 2, "created_at"), " "),
        "incidents[1].incident_updates[2].created_at: is blank; expected a date and time like 2024-08-12T20:42:00-04:00",
    ),
    "unparseable time": (
        "statuspage.json",
        _broken_statuspage(("incidents", 0, "incident_updates", 3, "display_at"), "2024-08-12T25:12:30-04:00"),
        "incidents[0].incident_updates[3].display_at: unparseable time '2024-08-12T25:12:30-04:00', expected ISO 8601",
    ),
    "unknown status": (
        "statuspage.json",
        _broken_statuspage(("incidents", 0, "incident_updates", 0, "status"), "exploded"),
        "incidents[0].incident_updates[0].status: unknown value 'exploded', expected 'investigating', 'identified',",
    ),
    "wrong type": (
        "statuspage.json",
        _broken_statuspage(("incidents", 1, "incident_updates"), {"id": "w1"}),
        "incidents[1].incident_updates: expected a valid list, got an object {'id': 'w1'}",
    ),
    "time without offset": (
        "log.json",
        {"log_entries": [{**PAGERDUTY["log_entries"][0], "created_at": "2024-08-13 01:50:02"}]},
        "log_entries[0].created_at: time 2024-08-13 01:50:02 has no UTC offset",
    ),
    "not json": ("statuspage.json", '{"incidents": [', "line 1 column 16: not JSON (Expecting value)"),
    "not yaml": (
        "timeline.yaml",
        "incident: {id: x\nevents: [",
        "line 2 column 7: not YAML (expected ',' or '}', but got ':')",
    ),
    "yaml clock time read as a number": (
        "timeline.yaml",
        TIMELINE_YAML.replace("at: 2024-08-12 20:00 ", "at: 20:00 "),
        "events[0].at: got the number 1200 where a date and time belongs (YAML reads 20:42 as a number)",
    ),
    "yaml unknown time zone": (
        "timeline.yaml",
        TIMELINE_YAML.replace("America/New_York", "Eastern"),
        "incident.timezone: unknown time zone 'Eastern'; use an IANA name like America/New_York or UTC",
    ),
    "yaml unknown key": (
        "timeline.yaml",
        TIMELINE_YAML.replace("    kind: mitigation", "    kind: mitigation\n    when: later"),
        "events[2].when: is not a key this format knows (got 'later')",
    ),
    "csv missing column": (
        "timeline.csv",
        "incident_id,at,title\nx,2024-01-01T00:00Z,t\n",
        "line 1 (the header): lacks column kind",
    ),
    "csv bad phase": (
        "timeline.csv",
        "incident_id,at,kind,title,phase\nx,2024-01-01T00:00Z,deploy,t,fixed\n",
        "line 2, column phase: unknown value 'fixed', expected 'investigating', 'identified', 'monitoring' or 'resolved'",
    ),
    "prometheus error": (
        "metrics.json",
        {"status": "error", "errorType": "bad_data", "error": 'parse error at char 5: unexpected "}"'},
        'status: Prometheus answered bad_data: parse error at char 5: unexpected "}"; fix the query',
    ),
    "prometheus unnamed series": (
        "metrics.json",
        {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {"job": "sfu"}, "values": []}]}},
        "data.result[0].metric: has no __name__ (the query was an expression: {'job': 'sfu'}); pass a metric name",
    ),
}


@pytest.mark.parametrize(("name", "document", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_file_raises_one_clear_error_and_imports_nothing(store, files, name, document, message):
    import_timeline(store, files("good.json", PROMETHEUS))
    import_timeline(store, files("good.yaml", TIMELINE_YAML))
    before = snapshot(store)
    path = files(name, document)

    with pytest.raises(TimelineError) as caught:
        import_timeline(store, path)

    assert str(caught.value).startswith(f"{path}: {message}")
    assert str(caught.value).endswith("; nothing from the file was imported")
    assert "\n" not in str(caught.value)
    assert snapshot(store) == before


def test_an_error_in_the_last_incident_keeps_the_valid_first_one_out_too(store, files):
    document = _broken_statuspage(("incidents", 1, "incident_updates", 0, "status"), "done")

    with pytest.raises(TimelineError, match=r"incidents\[1\]\.incident_updates\[0\]\.status"):
        import_timeline(store, files("statuspage.json", document))

    assert snapshot(store) == [[], [], []]


# -- formats and reports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "document", "expected"),
    [
        ("a.json", STATUSPAGE, "statuspage"),
        ("b.json", STATUSPAGE["incidents"], "statuspage"),
        ("c.json", STATUSPAGE["incidents"][0], "statuspage"),
        ("d.json", PAGERDUTY, "pagerduty"),
        ("e.json", PROMETHEUS, "prometheus"),
        ("f.yml", TIMELINE_YAML, "yaml"),
        ("g.csv", TIMELINE_CSV, "csv"),
    ],
)
def test_format_is_detected_from_extension_or_json_shape(files, name, document, expected):
    path = files(name, document)

    assert detect_format(path, path.read_text()) == expected


def test_undetectable_json_asks_for_a_format(store, files):
    path = files("mystery.json", {"items": []})

    with pytest.raises(UnknownFormat, match=r"\(a JSON object with keys items\); pass --format"):
        import_timeline(store, path)


def test_report_renders_one_line_summary():
    report = ImportReport("data/x/statuspage.json", "statuspage", incidents=1, events=7, written=3, unchanged=5, removed=1)

    assert report.render() == (
        "data/x/statuspage.json (statuspage): 1 incident, 7 events, 0 metric points; 3 new or changed,"
        " 5 already stored, 1 event no longer in the file removed"
    )


# -- the committed sample incidents --------------------------------------------------------------------

SAMPLES = [
    DATA / incident / name
    for incident in ("spaces-2024-08-12", "spaces-2023-05-24")
    for name in ("timeline.yaml", "statuspage.json", "metrics.prometheus.json")
]


@pytest.mark.parametrize("path", SAMPLES, ids=[f"{p.parent.name}/{p.name}" for p in SAMPLES])
def test_committed_sample_file_imports_cleanly_and_idempotently(store, path):
    if not path.exists():
        pytest.skip(f"{path.relative_to(DATA.parent)} is not committed yet (the sample incident is being generated)")
    incident_id = path.parent.name if path.name == "statuspage.json" else None

    first = import_timeline(store, path, incident_id=incident_id)
    again = import_timeline(store, path, incident_id=incident_id)

    assert first.incidents + first.events + first.metrics > 0
    assert (again.written, again.removed) == (0, 0)


@pytest.mark.parametrize("incident", ["spaces-2024-08-12", "spaces-2023-05-24"])
def test_sample_timeline_and_statuspage_merge_into_the_sample_incident(store, incident):
    folder = DATA / incident
    if not all((folder / name).exists() for name in ("timeline.yaml", "statuspage.json")):
        pytest.skip(f"data/{incident} has no timeline.yaml and statuspage.json yet")

    import_timeline(store, folder / "timeline.yaml")
    import_timeline(store, folder / "statuspage.json", incident_id=incident)

    [(source, started_at, resolved_at, description)] = store.query(
        "SELECT source, started_at, resolved_at, description FROM incidents WHERE id = ?", [incident]
    )
    assert source == "statuspage,yaml"
    assert started_at < resolved_at and description
    assert store.query("SELECT count(*) FROM incidents") == [(1,)]
