"""The README.md of an incident folder, generated so it always matches the files beside it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pipeline.sample.scenarios import Scenario
from pipeline.sample.truth import EASTERN


def _when(moment: datetime) -> str:
    """``20:02:00 ET (00:02:00 UTC)``."""
    return f"{moment.astimezone(EASTERN):%H:%M:%S} ET ({moment:%Y-%m-%d %H:%M:%S} UTC)"


def readme(scenario: Scenario, posts: list[Any], series: dict[str, list]) -> str:
    x, bluesky, mastodon = posts
    return "\n\n".join(
        [
            f"# {scenario.truth.id}: {scenario.truth.name}",
            "A reconstruction, not a recording: every post and account here is synthetic (public statements excepted, "
            "reconstructed from news coverage), generated with a fixed seed by `pipeline/sample/`. "
            + scenario.story,
            _files(scenario, x, bluesky, mastodon),
            _truth(scenario),
            _metrics(scenario, series),
            _malformed(posts),
            _skip_and_duplicates(x, bluesky, mastodon),
            "## Regenerate\n\n"
            "```\npython -m pipeline.sample data/\n```\n\n"
            "rewrites both incident folders byte for byte (seed 20240812); `tests/test_sample.py` checks that the "
            "committed files match. Change the story in `pipeline/sample/scenarios.py`, the texts in "
            "`pipeline/sample/texts*.py`, the ground truth in `pipeline/sample/truth.py`.",
        ]
    ) + "\n"


def _files(scenario: Scenario, x: Any, bluesky: Any, mastodon: Any) -> str:
    xs, bs, ms = x.stats, bluesky.stats, mastodon.stats
    return "\n".join(
        [
            "## Files",
            "",
            "| file | what | size |",
            "|---|---|---|",
            f"| `posts.x.jsonl` | X API v2 search responses, one per line ({xs['lines']} lines) | "
            f"{xs['tweets']} distinct tweets: {xs['posts']} posts, {xs['replies']} replies, {xs['quotes']} quotes, "
            f"{xs['reposts']} retweets; {xs['non_english']} not in English, {xs['offtopic']} off-topic |",
            f"| `posts.bluesky.jsonl` | Bluesky Jetstream events as the websocket sends them | "
            f"{bs['posts']} posts ({bs['replies']} replies, {bs['non_english']} not in English) plus events to skip |",
            f"| `posts.mastodon.json` | a JSON array of Mastodon v1 statuses, newest first | "
            f"{ms['statuses']} statuses ({ms['reblogs']} reblogs, {ms['replies']} replies, {ms['non_english']} not in English) |",
            "| `statuspage.json` | Statuspage `GET /api/v2/incidents.json`: one incident, updates newest first | "
            f"{len(scenario.status_updates)} updates |",
            "| `metrics.prometheus.json` | Prometheus `query_range` matrix, one series per metric, 1-minute step | "
            f"{scenario.minutes + 1} samples per series |",
            f"| `timeline.yaml` | hand-written timeline of what no tool recorded | {len(scenario.timeline)} events |",
        ]
    )


def _truth(scenario: Scenario) -> str:
    t = scenario.truth
    rows = [
        ("window", f"{_when(t.window_start)} to {_when(t.window_end)}"),
        ("scheduled_start", _when(t.scheduled_start)),
        ("server_onset (first `spaces_join_error_ratio` >= 0.10)", _when(t.server_onset)),
        ("complaint_lag_minutes", f"{t.complaint_lag_minutes}: complaints in minute T follow the error ratio stamped T - {t.complaint_lag_minutes} min"),
        ("social_onset (first minute above the baseline hour)", _when(t.social_onset)),
        ("first_internal_alert (Statuspage investigating)", f"{_when(t.first_internal_alert)}: social leads by {t.social_lead_minutes:.1f} min"),
        ("identified_at", _when(t.identified_at)),
        ("mitigation_at (error ratio drops)", _when(t.mitigation_at)),
        ("actual_start", _when(t.actual_start)),
        ("monitoring_at", _when(t.monitoring_at)),
        ("resolved_at", _when(t.resolved_at)),
        ("end_at", _when(t.end_at)),
        ("complaint peak inside", f"{_when(t.peak_window[0])} to {_when(t.peak_window[1])}"),
        ("listeners", f"about {t.listeners_at_onset:,} at onset, {t.listeners_low:,} at the low, {t.listeners_after:,} after"),
    ]
    rows += [(f"statement at {_when(at)}", f'"{text}"') for at, text in t.statements]
    rows += [("verbatim post", f'"{text}"') for text in t.verbatim_posts]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (
        f"## Ground truth (`pipeline.sample.truth.{'AUG_2024' if scenario.key == 'aug2024' else 'MAY_2023'}`)\n\n"
        "The analytics should recover these. The hour before the scheduled start is a clean baseline: "
        "steady volume, no spike.\n\n| constant | value |\n|---|---|\n" + table
    )


def _metrics(scenario: Scenario, series: dict[str, list]) -> str:
    gaps = [i for i, v in enumerate(series["spaces_join_latency_p95_seconds"]) if v is None]
    start = scenario.truth.window_start
    gap_text = (
        "; `spaces_join_latency_p95_seconds` is `\"NaN\"` at "
        + ", ".join(_when(start + timedelta(minutes=i)) for i in gaps)
        + " (no join completed inside the histogram window: store it as a gap)"
        if gaps
        else ""
    )
    return (
        "## Metrics\n\n"
        "`spaces_join_error_ratio` (0-1), `spaces_concurrent_listeners`, `spaces_join_latency_p95_seconds`, "
        "labels `service=\"spaces\", region=\"global\"`, one sample a minute from the window's start to its end "
        f"inclusive{gap_text}."
    )


def _malformed(posts: list[Any]) -> str:
    rows = []
    for file in posts:
        for m in sorted(file.malformed, key=lambda m: (m.position, m.item or 0)):
            where = f"line {m.position}" if file.name.endswith(".jsonl") else f"element {m.position}"
            if m.item is not None:
                where += f", `data[{m.item}]`"
            rows.append(f"| `{file.name}` | {where} | `{m.reason}` | {m.what} |")
    return (
        "## Malformed records (deliberate)\n\n"
        "Each must land in `rejected` with this reason (`pipeline.schema.Reason`); everything else in the post files is valid.\n\n"
        "| file | where | reason | what |\n|---|---|---|---|\n" + "\n".join(rows)
    )


def _skip_and_duplicates(x: Any, bluesky: Any, mastodon: Any) -> str:
    bs = bluesky.stats
    skip = ", ".join(f"{bs.get(k, 0)} {label}" for k, label in (
        ("like", "likes"), ("repost", "reposts"), ("delete", "post deletions"), ("identity", "identity events"),
        ("account", "account events"),
    ))
    return (
        "## To skip, not reject, and duplicates\n\n"
        f"- Bluesky events that are not posts (skip them): {skip}.\n"
        f"- X: {x.stats['repeated']} tweets appear in two consecutive responses (overlapping polls); "
        f"{x.stats['copypasta']} posts are copy-paste texts posted by several accounts (distinct posts, same text); "
        "retweets are `RT @user: ...` with `referenced_tweets` type `retweeted`.\n"
        f"- Bluesky: from line {bs['replay_line']} the 4 events before it are sent again "
        "(a reconnect resumed from an earlier cursor).\n"
        f"- Mastodon: {mastodon.stats['repeats']} statuses appear twice in a row (paging overlap); a reblog has empty "
        "top-level `content` by design: its text is in `reblog.content`."
    )
