"""The ground truth the sample generator puts into ``data/``: what the analytics must recover.

Every time here is UTC. Both incidents fell in US Eastern daylight time (UTC-4),
so 20:00 ET is 00:00 UTC the next day. The generator reads these values (it does
not restate them), so the committed files and these constants cannot drift apart.

How the posts are tied to the metrics: the number of *complaint* posts (posts
whose complaint type is not none) in the minute bucket that starts at T is
proportional to ``spaces_join_error_ratio``'s sample stamped
``T - complaint_lag_minutes``, times a little noise. Hype, commentary, news and
off-topic posts follow their own curves on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

EASTERN = timezone(timedelta(hours=-4), "EDT")
"""US Eastern daylight time, the zone of both incidents (a fixed offset: neither night crossed a DST change)."""


def _et(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=EASTERN).astimezone(timezone.utc)


@dataclass(frozen=True)
class IncidentTruth:
    """One incident's ground truth. Times are aware UTC datetimes."""

    id: str
    """Folder name under ``data/`` and the incident id of the hand-written timeline."""
    name: str
    timezone: str
    """IANA zone the incident is told in."""
    window_start: datetime
    """First minute of posts and metric samples."""
    window_end: datetime
    """Posts end before this instant; the last metric sample is stamped exactly here."""
    scheduled_start: datetime
    """When the live Space was announced to start. The hour before it is the clean baseline."""
    server_onset: datetime
    """The first metric sample of ``spaces_join_error_ratio`` at or above 0.10 (the server-side failure)."""
    complaint_lag_minutes: int
    """How many minutes complaint volume trails ``spaces_join_error_ratio`` (see the module docstring)."""
    social_onset: datetime
    """The first minute bucket whose post volume breaks from the baseline: ``server_onset + lag``."""
    first_internal_alert: datetime
    """The Statuspage incident's first update (investigating). Later than ``social_onset``: social leads."""
    identified_at: datetime
    monitoring_at: datetime
    resolved_at: datetime
    mitigation_at: datetime
    """The first metric sample after the mitigation: join errors drop from here on."""
    actual_start: datetime
    """When the conversation really began (or restarted)."""
    end_at: datetime
    """When the conversation ended."""
    statements: tuple[tuple[datetime, str], ...]
    """Public statements posted during the window, verbatim as the sample's anchor posts carry them."""
    listeners_at_onset: int
    """About how many concurrent listeners there were at ``server_onset``."""
    listeners_low: int
    """About the lowest concurrent-listener count during the failure."""
    listeners_after: int
    """About the level concurrent listeners reach after the mitigation."""
    peak_window: tuple[datetime, datetime]
    """The complaint volume peaks inside this span."""
    verbatim_posts: tuple[str, ...]
    """User posts quoted in news coverage of the night; each appears verbatim in ``posts.x.jsonl``."""

    @property
    def social_lead_minutes(self) -> float:
        """How many minutes the social onset came before the first internal alert."""
        return (self.first_internal_alert - self.social_onset).total_seconds() / 60


AUG_2024 = IncidentTruth(
    id="spaces-2024-08-12",
    name="X Spaces: Musk interviews Trump, listeners cannot join",
    timezone="America/New_York",
    window_start=_et(2024, 8, 12, 19, 0),
    window_end=_et(2024, 8, 12, 23, 0),
    scheduled_start=_et(2024, 8, 12, 20, 0),
    server_onset=_et(2024, 8, 12, 19, 59),
    complaint_lag_minutes=3,
    social_onset=_et(2024, 8, 12, 20, 2),
    first_internal_alert=_et(2024, 8, 12, 20, 9, 31),
    identified_at=_et(2024, 8, 12, 20, 20, 48),
    monitoring_at=_et(2024, 8, 12, 20, 42, 15),
    resolved_at=_et(2024, 8, 12, 21, 31, 7),
    mitigation_at=_et(2024, 8, 12, 20, 40),
    actual_start=_et(2024, 8, 12, 20, 40),
    end_at=_et(2024, 8, 12, 22, 45),
    statements=(
        (
            _et(2024, 8, 12, 20, 16, 12),
            "There appears to be a massive DDOS attack on X. Working on shutting it down. "
            "Worst case, we will proceed with a smaller number of live listeners and post the conversation later.",
        ),
        (
            _et(2024, 8, 12, 20, 27, 5),
            "We will proceed with the smaller number of concurrent listeners at 8:30 "
            "and then post the unedited audio immediately thereafter.",
        ),
    ),
    listeners_at_onset=420_000,
    listeners_low=250_000,
    listeners_after=1_300_000,
    peak_window=(_et(2024, 8, 12, 20, 5), _et(2024, 8, 12, 20, 35)),
    verbatim_posts=(
        "Lmfao all of Spaces entirely broken",
        "Elon is screwing trump with his crap spaces",
        "Spaces never works when it matters.",
        "I am having issues connecting to the X Spaces with Trump and Elon Musk",
        "The #WarRoom on #Rumble is also having issues.",
    ),
)
"""12 August 2024, 20:00 ET: Elon Musk's X Spaces conversation with Donald Trump starts 40 minutes late."""

MAY_2023 = IncidentTruth(
    id="spaces-2023-05-24",
    name="Twitter Spaces: DeSantis campaign launch loses its audience",
    timezone="America/New_York",
    window_start=_et(2023, 5, 24, 17, 0),
    window_end=_et(2023, 5, 24, 20, 0),
    scheduled_start=_et(2023, 5, 24, 18, 0),
    server_onset=_et(2023, 5, 24, 18, 1),
    complaint_lag_minutes=2,
    social_onset=_et(2023, 5, 24, 18, 3),
    first_internal_alert=_et(2023, 5, 24, 18, 7, 44),
    identified_at=_et(2023, 5, 24, 18, 16, 20),
    monitoring_at=_et(2023, 5, 24, 18, 33, 2),
    resolved_at=_et(2023, 5, 24, 19, 14, 40),
    mitigation_at=_et(2023, 5, 24, 18, 26),
    actual_start=_et(2023, 5, 24, 18, 26),
    end_at=_et(2023, 5, 24, 19, 35),
    statements=(),
    listeners_at_onset=600_000,
    listeners_low=40_000,
    listeners_after=100_000,
    peak_window=(_et(2023, 5, 24, 18, 5), _et(2023, 5, 24, 18, 28)),
    verbatim_posts=(),
)
"""24 May 2023, 18:00 ET: Ron DeSantis launches his campaign on Twitter Spaces with Elon Musk; the audience collapses."""

INCIDENTS = (AUG_2024, MAY_2023)
"""Every sample incident, in the order the generator writes them."""
