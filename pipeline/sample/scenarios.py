"""The two incidents as data: volume curves, metric shapes, anchor posts, status updates, timeline, story.

Curves are piecewise linear over minutes since the window's start (``(minute,
value)`` points), in X posts per minute before scaling to the post-count target.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.sample.truth import AUG_2024, EASTERN, MAY_2023, IncidentTruth

Curve = tuple[tuple[int, float], ...]


def curve(points: Curve, length: int) -> list[float]:
    """The curve's value at each whole minute 0..length-1."""
    values = []
    for minute in range(length):
        for (m0, v0), (m1, v1) in zip(points, points[1:]):
            if m0 <= minute <= m1:
                values.append(v0 + (v1 - v0) * (minute - m0) / (m1 - m0) if m1 > m0 else v1)
                break
        else:
            values.append(points[-1][1])
    return values


@dataclass(frozen=True)
class Anchor:
    """A post that must exist exactly as given (a verbatim quote or a public statement)."""

    at: datetime
    text: str
    category: str
    author: str | None = None  # a famous account's username; None for a synthetic author
    likes: int | None = None


@dataclass(frozen=True)
class StatusUpdate:
    status: str
    at: datetime
    body: str
    components: tuple[tuple[str, str, str], ...]  # (component name, old status, new status)


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str
    title: str
    body: str


@dataclass(frozen=True)
class Scenario:
    truth: IncidentTruth
    key: str  # template condition name: "aug2024" | "may2023"
    owner_followers: int
    volumes: dict[str, Curve]
    complaint_peak: float  # complaint posts per minute at a join error ratio of 1.0, before scaling
    complaint_mix: dict[str, dict[str, float]]  # phase -> complaint type -> weight
    targets: dict[str, int]  # platform -> posts wanted (originals, before reposts)
    platform_mix: dict[str, dict[str, float]]  # platform -> category -> multiplier
    anchors: tuple[Anchor, ...]
    copypasta_copies: int
    rt_share: float
    x_malformed: tuple[tuple[str, int], ...]  # (kind, minute) of each deliberately broken X record
    bluesky_malformed: tuple[tuple[str, int], ...]
    mastodon_malformed: tuple[tuple[str, int], ...]
    status_name: str
    status_updates: tuple[StatusUpdate, ...]
    timeline: tuple[TimelineEvent, ...]
    description: str
    keywords: tuple[str, ...]
    story: str

    @property
    def minutes(self) -> int:
        return int((self.truth.window_end - self.truth.window_start).total_seconds() // 60)

    def minute_of(self, moment: datetime) -> int:
        return int((moment - self.truth.window_start).total_seconds() // 60)


COMPONENTS = ("Spaces join", "Spaces audio", "Posts and timelines")
"""The Statuspage components (under a "Spaces" group except the last)."""

# -- metrics --------------------------------------------------------------------


def join_error_ratio(scenario: Scenario, rng: random.Random) -> list[float]:
    """One value per minute, stamped at each minute from the window's start to its end inclusive."""
    t = scenario.truth
    onset, mitigation = scenario.minute_of(t.server_onset), scenario.minute_of(t.mitigation_at)
    end = scenario.minute_of(t.end_at)
    shape = _ERROR_SHAPES[scenario.key]
    values = []
    for m in range(scenario.minutes + 1):
        if m < onset:
            value = 0.010 + abs(rng.gauss(0, 0.003))
        elif m < mitigation:
            value = shape["failure"](m - onset) + rng.gauss(0, 0.025)
        elif m < end + 3:
            value = shape["after"](m - mitigation) + abs(rng.gauss(0, 0.004))
            value += shape["blips"].get(m - mitigation, 0.0)
        else:
            value = 0.012 + abs(rng.gauss(0, 0.003))
        values.append(min(max(value, 0.0), 0.99))
    return values


def _failure_2024(k: int) -> float:
    ramp = (0.5, 0.72, 0.83, 0.87)
    if k < len(ramp):
        return ramp[k]
    if 31 <= k <= 34:  # the 8:30 attempt, swamped again
        return 0.86
    return 0.9 - max(0, k - 21) * 0.011


def _failure_2023(k: int) -> float:
    ramp = (0.62, 0.72, 0.8)
    return ramp[k] if k < len(ramp) else min(0.94, 0.78 + 0.007 * k)


_ERROR_SHAPES = {
    "aug2024": {
        "failure": _failure_2024,
        "after": lambda k: 0.025 + 0.19 * math.exp(-k / 7),
        "blips": {25: 0.17, 26: 0.22, 27: 0.19, 28: 0.1, 72: 0.12, 73: 0.14, 74: 0.08},
    },
    "may2023": {
        "failure": _failure_2023,
        "after": lambda k: 0.02 + 0.12 * math.exp(-k / 6),
        "blips": {34: 0.1, 35: 0.12},
    },
}


def concurrent_listeners(scenario: Scenario, rng: random.Random) -> list[float]:
    t = scenario.truth
    onset, mitigation = scenario.minute_of(t.server_onset), scenario.minute_of(t.mitigation_at)
    end = scenario.minute_of(t.end_at)
    lobby_from = onset - 20
    values = []
    for m in range(scenario.minutes + 1):
        base = 30_000 if scenario.key == "may2023" else 160_000
        if m < lobby_from:
            level = base
        elif m < onset:
            level = base + (t.listeners_at_onset - base) * ((m - lobby_from) / 20) ** 1.6
        elif m < mitigation:
            level = _failing_listeners(scenario, m - onset)
        elif m <= end:
            climb = 1 - math.exp(-(m - mitigation) / (14 if scenario.key == "aug2024" else 4))
            start = t.listeners_low * 1.3
            level = start + (t.listeners_after - start) * climb
        else:
            level = base + (t.listeners_after - base) * math.exp(-(m - end) / 2)
        values.append(round(level * (1 + rng.gauss(0, 0.012))))
    return values


def _failing_listeners(scenario: Scenario, k: int) -> float:
    """Listeners ``k`` minutes into the failure: they drain away (and, in 2024, churn as joins retry)."""
    t = scenario.truth
    if scenario.key == "may2023":
        return t.listeners_low + (t.listeners_at_onset - t.listeners_low) * math.exp(-k / 6.5)
    wobble = 1 + 0.18 * math.sin(k / 2.3)
    return (t.listeners_low + (t.listeners_at_onset - t.listeners_low) * math.exp(-k / 4)) * wobble


def join_latency(errors: list[float], rng: random.Random, gaps: tuple[int, ...]) -> list[float | None]:
    """p95 join latency follows the error ratio; ``gaps`` are minutes with no completed join (NaN)."""
    values: list[float | None] = []
    for m, error in enumerate(errors):
        if m in gaps:
            values.append(None)
            continue
        latency = 0.7 + 30 * error**1.4 + abs(rng.gauss(0, 0.12 + 2 * error))
        values.append(min(latency, 30.0))
    return values


LATENCY_GAPS = {"aug2024": (73, 74), "may2023": ()}
"""Minutes whose p95 join latency is NaN (no join completed inside the histogram's window)."""

# -- the two incidents -------------------------------------------------------------


def _at(truth: IncidentTruth, hour: int, minute: int, second: int = 0) -> datetime:
    """A moment on the incident's evening, given in Eastern time."""
    local = truth.window_start.astimezone(EASTERN)
    return local.replace(hour=hour, minute=minute, second=second).astimezone(truth.window_start.tzinfo)


_AFTER_MIX = {"audio_quality": 32, "muted": 16, "app_crash": 16, "cannot_join": 16, "errors": 10, "capacity": 6, "late_start": 4}
_BASELINE_MIX = {"cannot_join": 30, "audio_quality": 30, "app_crash": 20, "errors": 20}

AUG = Scenario(
    truth=AUG_2024,
    key="aug2024",
    owner_followers=193_400_000,
    volumes={
        "hype": ((0, 7.5), (59, 8.0), (61, 6.0), (64, 2.0), (75, 1.0), (100, 0.6), (240, 0.3)),
        "ddos_believer": ((0, 0.0), (62, 0.0), (63, 0.3), (76, 0.4), (77, 6.0), (90, 4.0), (110, 2.0), (150, 0.8), (240, 0.3)),
        "ddos_skeptic": ((0, 0.0), (76, 0.0), (77, 5.0), (90, 6.0), (110, 3.0), (150, 1.2), (240, 0.4)),
        "blame_owner": ((0, 0.0), (62, 0.0), (66, 4.0), (80, 6.0), (100, 4.0), (120, 2.0), (160, 1.0), (240, 0.5)),
        "blame_company": ((0, 0.0), (62, 0.0), (66, 3.5), (80, 5.0), (100, 3.0), (120, 1.5), (240, 0.4)),
        "mockery": ((0, 0.0), (62, 0.0), (66, 5.0), (80, 9.0), (95, 8.0), (105, 4.0), (140, 2.0), (240, 0.8)),
        "leaving": ((0, 0.0), (64, 0.0), (70, 2.5), (90, 3.5), (100, 1.5), (130, 0.3), (240, 0.1)),
        "defender": ((0, 0.0), (62, 0.0), (70, 0.3), (78, 2.0), (100, 2.0), (130, 0.8), (240, 0.3)),
        "news": ((0, 0.1), (63, 0.1), (66, 0.8), (77, 2.0), (90, 1.2), (101, 1.5), (120, 0.4), (225, 0.4), (228, 1.0), (240, 0.3)),
        "talk": ((0, 0.0), (100, 0.0), (101, 8.0), (130, 9.0), (180, 6.0), (225, 5.0), (227, 4.0), (235, 1.5), (240, 1.0)),
        "reschedule": ((0, 0.0), (87, 0.0), (88, 5.0), (95, 3.0), (100, 0.5), (101, 0.0), (240, 0.0)),
        "offtopic": ((0, 1.2), (240, 1.2)),
        "emoji_only": ((0, 0.1), (62, 0.2), (66, 1.0), (100, 0.5), (240, 0.2)),
        "hashtag_only": ((0, 0.1), (62, 0.1), (66, 0.5), (100, 0.3), (240, 0.1)),
    },
    complaint_peak=55.0,
    complaint_mix={
        "baseline": _BASELINE_MIX,
        "failure": {"cannot_join": 34, "app_crash": 14, "late_start": 16, "errors": 12, "capacity": 10, "audio_quality": 8, "muted": 6},
        "after": _AFTER_MIX,
    },
    targets={"x": 5_600, "bluesky": 640, "mastodon": 400},
    platform_mix={
        "x": {},
        "bluesky": {
            "hype": 0.15, "complaint": 0.35, "ddos_believer": 0.05, "ddos_skeptic": 1.6, "blame_owner": 1.5,
            "blame_company": 1.2, "mockery": 2.0, "leaving": 1.2, "defender": 0.05, "talk": 0.25, "reschedule": 0.4,
            "hashtag_only": 0.2,
        },
        "mastodon": {
            "hype": 0.1, "complaint": 0.25, "ddos_believer": 0.03, "ddos_skeptic": 1.8, "blame_owner": 1.5,
            "blame_company": 1.4, "mockery": 2.0, "leaving": 1.0, "defender": 0.03, "talk": 0.2, "reschedule": 0.3,
            "emoji_only": 0.3, "hashtag_only": 0.3,
        },
    },
    anchors=(
        Anchor(AUG_2024.statements[0][0], AUG_2024.statements[0][1], "statement", "elonmusk", 241_000),
        Anchor(AUG_2024.statements[1][0], AUG_2024.statements[1][1], "statement", "elonmusk", 118_000),
        Anchor(_at(AUG_2024, 20, 4, 41), AUG_2024.verbatim_posts[3], "cannot_join"),
        Anchor(_at(AUG_2024, 20, 6, 13), AUG_2024.verbatim_posts[0], "mockery", likes=2_310),
        Anchor(_at(AUG_2024, 20, 9, 52), AUG_2024.verbatim_posts[2], "blame_company", likes=870),
        Anchor(_at(AUG_2024, 20, 21, 30), AUG_2024.verbatim_posts[1], "blame_owner", likes=1_450),
        Anchor(_at(AUG_2024, 20, 25, 8), AUG_2024.verbatim_posts[4], "errors", likes=640),
    ),
    copypasta_copies=9,
    rt_share=0.11,
    x_malformed=(
        ("missing_text", 66), ("truncated", 72), ("error_response", 85), ("bad_time", 93),
        ("wrong_encoding", 81), ("wrong_type", 107), ("oversize", 135), ("missing_id", 160),
    ),
    bluesky_malformed=(("missing_time", 70), ("truncated", 90), ("wrong_encoding", 118)),
    mastodon_malformed=(("empty_content", 75), ("bad_time", 96), ("wrong_type", 128)),
    status_name="Listeners unable to join Spaces",
    status_updates=(
        StatusUpdate(
            "investigating",
            AUG_2024.first_internal_alert,
            "We are investigating reports that listeners cannot join live Spaces. Some listeners who do join hear no audio.",
            (("Spaces join", "operational", "major_outage"), ("Spaces audio", "operational", "degraded_performance")),
        ),
        StatusUpdate(
            "identified",
            AUG_2024.identified_at,
            "We have identified a large volume of traffic against the Spaces join service, consistent with a DDoS attack. "
            "Mitigation is under way. If needed we will proceed with a reduced number of concurrent listeners.",
            (("Spaces join", "major_outage", "major_outage"), ("Spaces audio", "degraded_performance", "degraded_performance")),
        ),
        StatusUpdate(
            "monitoring",
            AUG_2024.monitoring_at,
            "Listener capacity for the live Space was reduced and the conversation started at 8:40 PM ET. "
            "Join success is recovering. We are monitoring audio quality.",
            (("Spaces join", "major_outage", "degraded_performance"), ("Spaces audio", "degraded_performance", "degraded_performance")),
        ),
        StatusUpdate(
            "resolved",
            AUG_2024.resolved_at,
            "Joins and audio for Spaces are operating normally. A recording of the conversation will be posted. "
            "We will publish a post-incident review.",
            (("Spaces join", "degraded_performance", "operational"), ("Spaces audio", "degraded_performance", "operational")),
        ),
    ),
    timeline=(
        TimelineEvent(
            _at(AUG_2024, 15, 0),
            "scaling_test",
            "Scaling test claim: 8 million concurrent listeners",
            'Ahead of the event the company said "we tested the system with 8 million concurrent listeners". '
            "Time approximate.",
        ),
        TimelineEvent(AUG_2024.scheduled_start, "schedule", "Scheduled start", "The conversation was announced for 8:00 PM ET."),
        TimelineEvent(
            AUG_2024.statements[0][0],
            "statement",
            "Owner blames a DDoS attack",
            'Posted by the owner: "' + AUG_2024.statements[0][1] + '"',
        ),
        TimelineEvent(
            AUG_2024.statements[1][0],
            "statement",
            "Proceeding at 8:30 with fewer listeners",
            'Posted by the owner: "' + AUG_2024.statements[1][1] + '"',
        ),
        TimelineEvent(
            AUG_2024.mitigation_at,
            "mitigation",
            "Listener capacity reduced",
            "The live Space goes ahead with a smaller number of concurrent listeners; joins start to succeed.",
        ),
        TimelineEvent(AUG_2024.actual_start, "schedule", "Conversation starts, 40 minutes late", "The talk begins at about 8:40 PM ET."),
        TimelineEvent(AUG_2024.end_at, "schedule", "Conversation ends", "The Space ends after about two hours."),
    ),
    description=(
        "Elon Musk's interview of Donald Trump on X Spaces, scheduled for 8:00 PM ET, could not be joined by most "
        "listeners; the owner blamed a massive DDoS attack and the talk started about 40 minutes late with a reduced "
        "audience, later climbing to about 1.3 million concurrent listeners."
    ),
    keywords=("spaces", "x spaces", "twitter spaces", "space", "trump", "elon", "musk", "ddos", "#TrumpOnX", "#SpacesDown"),
    story=(
        "On 12 August 2024 Elon Musk interviewed Donald Trump live on X Spaces. The Space was announced for "
        "8:00 PM ET; from the start most listeners could not join. At about 8:16 PM the owner posted that there "
        'appeared to be "a massive DDOS attack on X"; at about 8:27 PM he said they would proceed "with the smaller '
        'number of concurrent listeners at 8:30". The conversation began at about 8:40 PM ET and ran until about '
        '10:45 PM. Earlier the company had said "we tested the system with 8 million concurrent listeners".'
    ),
)
"""The 12 August 2024 X Spaces outage."""

MAY = Scenario(
    truth=MAY_2023,
    key="may2023",
    owner_followers=141_200_000,
    volumes={
        "hype": ((0, 1.2), (45, 1.6), (60, 1.6), (62, 0.8), (70, 0.2), (180, 0.1)),
        "blame_owner": ((0, 0.0), (63, 0.0), (66, 1.0), (80, 1.2), (95, 0.6), (130, 0.3), (180, 0.1)),
        "blame_company": ((0, 0.0), (63, 0.0), (66, 1.0), (85, 1.0), (100, 0.4), (180, 0.1)),
        "mockery": ((0, 0.0), (63, 0.0), (66, 2.2), (85, 2.5), (100, 1.2), (140, 0.5), (180, 0.2)),
        "melting": ((0, 0.0), (72, 0.0), (73, 2.0), (85, 1.2), (95, 0.5), (120, 0.1), (180, 0.0)),
        "leaving": ((0, 0.0), (68, 0.2), (80, 0.6), (95, 0.2), (180, 0.05)),
        "defender": ((0, 0.0), (63, 0.0), (70, 0.1), (75, 0.5), (95, 0.4), (130, 0.1), (180, 0.05)),
        "news": ((0, 0.02), (64, 0.02), (67, 0.4), (90, 0.4), (100, 0.2), (155, 0.2), (158, 0.3), (180, 0.05)),
        "talk": ((0, 0.0), (86, 0.0), (87, 2.0), (120, 1.5), (155, 1.0), (160, 0.3), (180, 0.2)),
        "offtopic": ((0, 0.3), (180, 0.3)),
        "emoji_only": ((0, 0.03), (63, 0.03), (66, 0.4), (100, 0.15), (180, 0.03)),
        "hashtag_only": ((0, 0.02), (63, 0.02), (66, 0.2), (100, 0.1), (180, 0.02)),
    },
    complaint_peak=16.0,
    complaint_mix={
        "baseline": _BASELINE_MIX,
        "failure": {"audio_quality": 25, "cannot_join": 25, "app_crash": 20, "capacity": 15, "muted": 10, "errors": 5, "late_start": 6},
        "after": _AFTER_MIX,
    },
    targets={"x": 660, "bluesky": 70, "mastodon": 95},
    platform_mix=AUG.platform_mix,
    anchors=(),
    copypasta_copies=5,
    rt_share=0.1,
    x_malformed=(("truncated", 70), ("missing_text", 75), ("bad_time", 90), ("wrong_type", 110)),
    bluesky_malformed=(("missing_time", 80), ("truncated", 100)),
    mastodon_malformed=(("empty_content", 78), ("wrong_type", 105)),
    status_name="Spaces audio degraded and listeners disconnected",
    status_updates=(
        StatusUpdate(
            "investigating",
            MAY_2023.first_internal_alert,
            "We are investigating reports of listeners being disconnected from a live Space and of echo and feedback in the audio.",
            (("Spaces audio", "operational", "major_outage"), ("Spaces join", "operational", "degraded_performance")),
        ),
        StatusUpdate(
            "identified",
            MAY_2023.identified_at,
            "The issue has been identified: the audio servers for a single very large Space are overloaded. "
            "We are moving the Space to fresh capacity.",
            (("Spaces audio", "major_outage", "major_outage"), ("Spaces join", "degraded_performance", "partial_outage")),
        ),
        StatusUpdate(
            "monitoring",
            MAY_2023.monitoring_at,
            "The conversation restarted in a new Space at 6:26 PM ET and listeners are connecting normally. We are monitoring.",
            (("Spaces audio", "major_outage", "degraded_performance"), ("Spaces join", "partial_outage", "operational")),
        ),
        StatusUpdate(
            "resolved",
            MAY_2023.resolved_at,
            "Spaces audio has been stable for 40 minutes. This incident is resolved.",
            (("Spaces audio", "degraded_performance", "operational"),),
        ),
    ),
    timeline=(
        TimelineEvent(MAY_2023.scheduled_start, "schedule", "Scheduled start", "The campaign launch Space was announced for 6:00 PM ET."),
        TimelineEvent(
            _at(MAY_2023, 18, 12),
            "statement",
            '"The servers are melting", said live on air',
            "With feedback and dropped connections, a host said live on air that the servers were melting. Time approximate.",
        ),
        TimelineEvent(
            MAY_2023.mitigation_at,
            "mitigation",
            "Space ended and restarted on another account",
            "The original Space was abandoned and the conversation restarted in a new Space hosted by another account.",
        ),
        TimelineEvent(MAY_2023.actual_start, "schedule", "Conversation restarts", "The launch conversation resumes in the new Space."),
        TimelineEvent(MAY_2023.end_at, "schedule", "Conversation ends", "The Space ends."),
    ),
    description=(
        "Ron DeSantis's presidential campaign launch with Elon Musk on Twitter Spaces, scheduled for 6:00 PM ET, "
        "lost its audience from about 600,000 to about 40,000 concurrent listeners in the first half hour amid "
        "feedback and dropped connections; restarted on another account, it recovered to about 100,000."
    ),
    keywords=("spaces", "twitter spaces", "space", "desantis", "elon", "musk", "launch", "#DeSaster"),
    story=(
        "On 24 May 2023 Ron DeSantis announced his presidential campaign in a Twitter Spaces conversation with "
        "Elon Musk, scheduled for 6:00 PM ET. The Space filled to about 600,000 concurrent listeners, then audio "
        'feedback and dropped connections followed ("the servers are melting" was said live on air) and the audience '
        "fell to about 40,000 within about 30 minutes. The conversation was restarted in a Space on another account "
        "at about 6:26 PM and recovered to about 100,000 listeners."
    ),
)
"""The 24 May 2023 DeSantis campaign launch on Twitter Spaces."""

SCENARIOS = (AUG, MAY)


def events_of(scenario: Scenario) -> dict[str, datetime]:
    """Named moments that template conditions refer to (``[after:statement]`` ...)."""
    t = scenario.truth
    events = {"scheduled": t.scheduled_start, "start": t.actual_start, "end": t.end_at}
    if t.statements:
        events["statement"] = t.statements[0][0]
    if len(t.statements) > 1:
        events["reschedule"] = t.statements[1][0]
    return events


def phase_of(scenario: Scenario, at: datetime) -> str:
    """The complaint-mix phase of a moment: baseline, failure or after (the mitigation)."""
    t = scenario.truth
    if at < t.server_onset + timedelta(minutes=t.complaint_lag_minutes):
        return "baseline"
    return "failure" if at < t.mitigation_at + timedelta(minutes=t.complaint_lag_minutes) else "after"
