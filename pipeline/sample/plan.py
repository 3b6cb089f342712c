"""Plan the posts of one incident on one platform: when, what kind, by whom, saying what, and how they thread.

Per minute and category, the number of posts is the category's curve (for
complaints: ``complaint_peak`` times the join error ratio ``lag`` minutes
earlier) times the platform's multiplier, scaled to the platform's target,
times a little noise, rounded at random. Drafts are platform-neutral; the
format modules turn them into each platform's JSON.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.sample import texts
from pipeline.sample.render import COMPLAINT_TYPES, Renderer
from pipeline.sample.scenarios import Scenario, curve, phase_of

REPLYABLE = frozenset(COMPLAINT_TYPES) | {
    "blame_owner", "blame_company", "ddos_believer", "ddos_skeptic", "mockery", "melting", "defender", "reschedule",
    "leaving", "talk",
}
STATEMENT_REPLIES = frozenset({"ddos_believer", "ddos_skeptic", "blame_owner", "defender", "reschedule", "mockery"})


@dataclass(eq=False)
class Draft:
    """One post before it takes a platform's shape."""

    at: datetime
    category: str
    text: str
    lang: str
    author: Any  # people.XUser | people.BlueskyRepo | people.MastodonAccount
    kind: str = "post"  # post | reply | quote | repost
    parent: Draft | None = None
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    bookmarks: int = 0
    impressions: int = 0
    id: str = ""
    conversation: str = ""
    anchor: bool = False

    @property
    def complaint(self) -> str | None:
        return self.category if self.category in COMPLAINT_TYPES else None


class Authors:
    """Picks who writes a post: news outlets write the news, everyone else by how active they are."""

    def __init__(self, accounts: list[Any]):
        self.news = [a for a in accounts if a.person.kind == "news"]
        self.others = [a for a in accounts if a.person.kind in ("regular", "big")]
        self.cumulative = list(itertools.accumulate(a.person.activity for a in self.others))

    def pick(self, rng: random.Random, category: str) -> Any:
        if category == "news" and rng.random() < 0.85:
            return rng.choice(self.news)
        return rng.choices(self.others, cum_weights=self.cumulative)[0]


REACTIVE = frozenset({
    "blame_owner", "blame_company", "mockery", "melting", "leaving", "ddos_believer", "ddos_skeptic", "defender",
    "reschedule", "emoji_only", "hashtag_only",
})
"""Reactions to the failure: they swell and ebb with the join error ratio too, on the same lag."""


def rates(scenario: Scenario, platform: str, errors: list[float]) -> dict[str, list[float]]:
    """Unscaled posts per minute, per category, for one platform."""
    mix = scenario.platform_mix[platform]
    n = scenario.minutes
    lag = scenario.truth.complaint_lag_minutes
    lagged = [errors[max(m - lag, 0)] for m in range(n)]
    out = {}
    for category, points in scenario.volumes.items():
        values = curve(points, n)
        if category in REACTIVE:
            values = [v * (0.35 + 0.65 * min(1.0, e / 0.85)) for v, e in zip(values, lagged)]
        out[category] = [v * mix.get(category, 1.0) for v in values]
    out["complaint"] = [scenario.complaint_peak * e * mix.get("complaint", 1.0) for e in lagged]
    return out


def schedule(scenario: Scenario, platform: str, errors: list[float], target: int, rng: random.Random) -> list[tuple[datetime, str]]:
    """(time, category) of every templated post; "complaint" is resolved to a complaint type later."""
    per_category = rates(scenario, platform, errors)
    scale = target / sum(sum(values) for values in per_category.values())
    planned = []
    for m in range(scenario.minutes):
        minute = scenario.truth.window_start + timedelta(minutes=m)
        for category, values in per_category.items():
            count = stochastic_round(values[m] * scale * rng.lognormvariate(0, 0.12), rng)
            planned.extend((minute + timedelta(milliseconds=rng.randrange(60_000)), category) for _ in range(count))
    planned.sort(key=lambda item: item[0])
    return planned


def stochastic_round(value: float, rng: random.Random) -> int:
    whole = math.floor(value)
    return whole + (rng.random() < value - whole)


def complaint_type(scenario: Scenario, at: datetime, rng: random.Random) -> str:
    mix = scenario.complaint_mix[phase_of(scenario, at)]
    kinds = [k for k in mix if k != "late_start" or at >= scenario.truth.scheduled_start + timedelta(minutes=3)]
    return rng.choices(kinds, [mix[k] for k in kinds])[0]


def drafts_for(
    scenario: Scenario, platform: str, errors: list[float], accounts: list[Any], renderer: Renderer, rng: random.Random
) -> list[Draft]:
    """Every templated post of the platform, in time order (no anchors, copies, threads or reposts yet)."""
    authors = Authors(accounts)
    drafts = []
    for at, category in schedule(scenario, platform, errors, scenario.targets[platform], rng):
        if category == "complaint":
            category = complaint_type(scenario, at, rng)
        author = authors.pick(rng, category)
        text, lang = renderer.post(category, author.person.lang, at)
        drafts.append(Draft(at, category, text, lang, author))
    return drafts


def copypasta(scenario: Scenario, accounts: list[Any], copies: int, rng: random.Random, platform: str = "x") -> list[Draft]:
    """The same text posted by several accounts during the failure (copy-paste, not reposts)."""
    authors = Authors(accounts)
    t = scenario.truth
    span = (t.mitigation_at - t.social_onset).total_seconds()
    drafts = []
    for text in texts.COPYPASTA[scenario.key]:
        if platform != "x" and "Retweet" in text:
            continue
        for _ in range(copies):
            at = t.social_onset + timedelta(milliseconds=rng.randrange(int(span * 1000)))
            category = "cannot_join" if "join" in text else "mockery"
            drafts.append(Draft(at, category, text, "en", authors.pick(rng, "mockery"), anchor=True))
    return drafts


def thread(drafts: list[Draft], rng: random.Random, reply_share: float, quote_share: float, statements: list[Draft]) -> None:
    """Turn some posts into replies (to popular earlier posts, often the owner's statement) or quotes, in place."""
    times = [d.at for d in drafts]
    for index, draft in enumerate(drafts):
        if draft.anchor or draft.category not in REPLYABLE:
            continue
        roll = rng.random()
        if roll < reply_share:
            parent = _statement_parent(draft, statements, rng) or _popular_parent(drafts, times, index, rng)
            if parent is not None and parent.author is not draft.author:
                draft.kind, draft.parent = "reply", parent
        elif roll < reply_share + quote_share:
            parent = _popular_parent(drafts, times, index, rng)
            if parent is not None and parent.kind != "repost":
                draft.kind, draft.parent = "quote", parent


def _statement_parent(draft: Draft, statements: list[Draft], rng: random.Random) -> Draft | None:
    if draft.category not in STATEMENT_REPLIES:
        return None
    recent = [s for s in statements if timedelta(0) < draft.at - s.at < timedelta(minutes=25)]
    return recent[-1] if recent and rng.random() < 0.45 else None


def _popular_parent(drafts: list[Draft], times: list[datetime], index: int, rng: random.Random) -> Draft | None:
    start = bisect.bisect_left(times, drafts[index].at - timedelta(minutes=30))
    window = [d for d in drafts[start:index] if d.kind == "post" and d.category not in ("news", "offtopic")]
    if not window:
        return None
    return rng.choices(window, [(d.likes + 1) ** 0.8 for d in window])[0]


def reposts(drafts: list[Draft], accounts: list[Any], share: float, rng: random.Random) -> list[Draft]:
    """Reposts of earlier popular posts: ``share`` of each minute's volume, weighted by repost counts."""
    authors = Authors(accounts)
    originals = [d for d in drafts if d.kind != "repost" and d.category != "offtopic"]
    times = [d.at for d in originals]
    weights = [(d.reposts + 0.3) ** 0.6 for d in originals]
    out = []
    for index, draft in enumerate(originals):
        if rng.random() >= share:
            continue
        at = draft.at + timedelta(milliseconds=rng.randrange(1, 40_000))
        start = bisect.bisect_left(times, at - timedelta(minutes=60))
        end = bisect.bisect_left(times, at)
        if end <= start:
            continue
        source = rng.choices(originals[start:end], weights[start:end])[0]
        out.append(Draft(at, source.category, source.text, source.lang, authors.pick(rng, "mockery"), "repost", source))
    return out


def x_engagement(draft: Draft, rng: random.Random) -> None:
    """Skewed counts: most posts get 0-5 likes, big accounts more, about 1 in 100 goes viral."""
    followers = draft.author.person.followers
    base = math.sqrt(followers) * rng.lognormvariate(-2.3, 1.4)
    if rng.random() < 0.01:
        base *= rng.uniform(20, 200)
    if draft.category == "offtopic":
        base *= 0.3
    _set_counts(draft, int(base), rng)
    draft.impressions = int(draft.likes * rng.uniform(40, 200) + followers * rng.uniform(0.02, 0.15) + rng.randint(3, 80))


def anchor_engagement(draft: Draft, likes: int, rng: random.Random) -> None:
    _set_counts(draft, likes, rng)
    draft.impressions = int(likes * rng.uniform(120, 220))


def _set_counts(draft: Draft, likes: int, rng: random.Random) -> None:
    draft.likes = likes
    draft.reposts = int(likes * rng.uniform(0.05, 0.3))
    draft.replies = int(likes * rng.uniform(0.05, 0.4)) + (rng.random() < 0.3)
    draft.quotes = int(draft.reposts * rng.uniform(0.0, 0.25))
    draft.bookmarks = int(likes * rng.uniform(0.0, 0.1))


def mastodon_engagement(draft: Draft, rng: random.Random) -> None:
    followers = draft.author.person.followers
    likes = int(followers**0.4 * rng.lognormvariate(-1.6, 1.2))
    draft.likes = likes
    draft.reposts = int(likes * rng.uniform(0.1, 0.5))
    draft.replies = int(likes * rng.uniform(0.0, 0.3)) + (rng.random() < 0.2)
