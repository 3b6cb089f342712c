"""Write the sample incidents under ``data/``, byte for byte the same for the same seed.

Every random choice comes from a ``random.Random`` seeded with a string
``"<seed>/<incident>/<part>"`` (string seeds hash the same on every run and
machine), so changing one part of an incident leaves the others' bytes alone.
Nothing reads the clock, the environment or set/dict hash order.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.sample import formats, ids, plan, records
from pipeline.sample.formats import Malformed
from pipeline.sample.people import HOME_INSTANCE, bluesky_repos, make_people, mastodon_accounts, x_famous, x_users
from pipeline.sample.plan import Draft
from pipeline.sample.readme import readme
from pipeline.sample.render import Renderer, Setting
from pipeline.sample.texts import COPYPASTA
from pipeline.sample.scenarios import (
    LATENCY_GAPS,
    SCENARIOS,
    Scenario,
    concurrent_listeners,
    events_of,
    join_error_ratio,
    join_latency,
)

DEFAULT_SEED = 20240812
_COPYPASTA = frozenset(t for group in COPYPASTA.values() for t in group)
RngFor = Callable[[str], random.Random]
"""Gives the Random of one part of an incident (``"x"``, ``"errors"``, ...)."""
POOL_SIZES = {"aug2024": {"x": 3000, "bluesky": 1100, "mastodon": 700}, "may2023": {"x": 1000, "bluesky": 200, "mastodon": 250}}
BIG_ACCOUNTS = {"x": 25, "bluesky": 8, "mastodon": 5}
REPLY_SHARE = {"x": 0.12, "bluesky": 0.15, "mastodon": 0.12}


@dataclass
class PlatformFile:
    """One posts file's bytes, its malformed records and what the README says about it."""

    name: str
    data: bytes
    malformed: list[Malformed]
    stats: dict[str, int] = field(default_factory=dict)


def generate_sample(out_dir: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write every sample file under ``out_dir`` (one folder per incident) and return their paths."""
    paths = []
    for scenario in SCENARIOS:
        folder = Path(out_dir) / scenario.truth.id
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in incident_files(scenario, seed).items():
            (folder / name).write_bytes(data)
            paths.append(folder / name)
    return paths


def incident_files(scenario: Scenario, seed: int) -> dict[str, bytes]:
    """File name -> bytes for one incident folder."""
    rng = lambda part: random.Random(f"{seed}/{scenario.key}/{part}")  # noqa: E731
    errors = join_error_ratio(scenario, rng("errors"))
    series = {
        "spaces_join_error_ratio": errors,
        "spaces_concurrent_listeners": concurrent_listeners(scenario, rng("listeners")),
        "spaces_join_latency_p95_seconds": join_latency(errors, rng("latency"), LATENCY_GAPS[scenario.key]),
    }
    posts = [
        x_file(scenario, errors, rng),
        bluesky_file(scenario, errors, rng),
        mastodon_file(scenario, errors, rng),
    ]
    files = {p.name: p.data for p in posts}
    files["statuspage.json"] = records.statuspage(scenario, rng("statuspage"))
    files["metrics.prometheus.json"] = records.prometheus(scenario, series)
    files["timeline.yaml"] = records.timeline_yaml(scenario)
    files["README.md"] = readme(scenario, posts, series).encode()
    return files


def _people(scenario: Scenario, platform: str, rng: random.Random) -> list:
    size = POOL_SIZES[scenario.key][platform]
    return make_people(rng, size, scenario.truth.window_start, BIG_ACCOUNTS[platform])


def _renderer(scenario: Scenario, platform: str, rng: random.Random) -> Renderer:
    setting = Setting(scenario.key, platform, events_of(scenario), scenario.truth.scheduled_start)
    return Renderer(setting, rng)


def _within(drafts: list[Draft], scenario: Scenario) -> list[Draft]:
    drafts = [d for d in drafts if d.at < scenario.truth.window_end]
    drafts.sort(key=lambda d: d.at)
    return drafts


def _bad_drafts(
    scenario: Scenario, spec: tuple[tuple[str, int], ...], accounts: list, renderer: Renderer, rng: random.Random
) -> list[tuple[str, Draft]]:
    """A draft for each deliberately broken record: (kind, minute of the window) -> (kind, draft)."""
    out = []
    for kind, minute in spec:
        at = scenario.truth.window_start + timedelta(minutes=minute, milliseconds=rng.randrange(60_000))
        candidates = [a for a in accounts if a.person.kind == "regular"]
        if kind == "wrong_encoding":
            candidates = [a for a in candidates if _latin1_safe(a.person.display_name)]
        author = rng.choice(candidates)
        text, lang = renderer.post("cannot_join", "en", at)
        out.append((kind, Draft(at, "cannot_join", text, lang, author)))
    return out


def _latin1_safe(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


# -- X ---------------------------------------------------------------------------


def x_file(scenario: Scenario, errors: list[float], rng_for: RngFor) -> PlatformFile:
    rng = rng_for("x")
    users = x_users(_people(scenario, "x", rng), rng)
    owner = x_famous("elonmusk", scenario.owner_followers)
    renderer = _renderer(scenario, "x", rng)
    drafts = plan.drafts_for(scenario, "x", errors, users, renderer, rng)
    drafts += plan.copypasta(scenario, users, scenario.copypasta_copies, rng)
    for draft in drafts:
        plan.x_engagement(draft, rng)
    anchors = [_anchor(a, owner, users, rng) for a in scenario.anchors]
    drafts = _within(drafts + anchors, scenario)
    statements = [d for d in anchors if d.category == "statement"]
    plan.thread(drafts, rng, REPLY_SHARE["x"], 0.03, statements)
    drafts = _within(drafts + plan.reposts(drafts, users, scenario.rt_share, rng), scenario)
    famous = [owner, x_famous("realDonaldTrump", 88_900_000)]
    writer = formats.XWriter(rng, {u.username: u.id for u in users + famous})
    writer.assign_ids(drafts)
    bad = _bad_drafts(scenario, scenario.x_malformed, users, renderer, rng)
    for _, draft in bad:
        plan.x_engagement(draft, rng)
        writer.assign_ids([draft])
    user_json = {u.id: u.as_json() for u in users + [owner]}
    data, malformed = formats.write_x(writer, drafts, user_json, bad)
    return PlatformFile(writer.file, data, malformed, _x_stats(data, drafts, writer.repeated))


def _anchor(anchor, owner, users, rng: random.Random) -> Draft:
    author = owner if anchor.author == "elonmusk" else rng.choice([u for u in users if u.person.kind == "regular" and u.person.lang == "en"])
    draft = Draft(anchor.at, anchor.category, anchor.text, "en", author, anchor=True)
    if anchor.likes is not None:
        plan.anchor_engagement(draft, anchor.likes, rng)
    else:
        plan.x_engagement(draft, rng)
    return draft


def _x_stats(data: bytes, drafts: list[Draft], repeated: int) -> dict[str, int]:
    kinds = Counter(d.kind for d in drafts)
    return {
        "lines": data.count(b"\n"),
        "tweets": len(drafts),
        "repeated": repeated,
        "copypasta": sum(1 for d in drafts if d.kind == "post" and d.text in _COPYPASTA),
        "posts": kinds["post"],
        "replies": kinds["reply"],
        "quotes": kinds["quote"],
        "reposts": kinds["repost"],
        "non_english": sum(d.lang not in ("en", "und", "qht") for d in drafts),
        "offtopic": sum(d.category == "offtopic" for d in drafts),
    }


# -- Bluesky ---------------------------------------------------------------------


def bluesky_file(scenario: Scenario, errors: list[float], rng_for: RngFor) -> PlatformFile:
    rng = rng_for("bluesky")
    repos = bluesky_repos(_people(scenario, "bluesky", rng), rng)
    renderer = _renderer(scenario, "bluesky", rng)
    drafts = plan.drafts_for(scenario, "bluesky", errors, repos, renderer, rng)
    drafts = _within(drafts + plan.copypasta(scenario, repos, 3, rng, "bluesky"), scenario)
    for draft in drafts:
        plan.mastodon_engagement(draft, rng)  # only weights who gets replies; Jetstream carries no counts
    plan.thread(drafts, rng, REPLY_SHARE["bluesky"], 0.0, [])
    writer = formats.JetstreamWriter(rng)
    writer.assign_ids(drafts)
    events = [writer.post(d) for d in drafts]
    skipped = writer.skipped(drafts, repos, scenario.truth.window_end)
    bad = _bad_drafts(scenario, scenario.bluesky_malformed, repos, renderer, rng)
    writer.assign_ids([d for _, d in bad])
    data, malformed, replay = formats.write_jetstream(writer, events + skipped, [(k, writer.post(d)) for k, d in bad])
    kinds = Counter(_skip_kind(e) for _, e in skipped)
    stats = {"posts": len(drafts), "replies": sum(d.kind == "reply" for d in drafts), "replay_line": replay, **kinds}
    stats["non_english"] = sum(d.lang not in ("en", "und", "qht") for d in drafts)
    return PlatformFile(writer.file, data, malformed, stats)


def _skip_kind(event: dict) -> str:
    if event["kind"] != "commit":
        return event["kind"]
    commit = event["commit"]
    return "delete" if commit["operation"] == "delete" else commit["collection"].rsplit(".", 1)[1]


# -- Mastodon --------------------------------------------------------------------


def mastodon_file(scenario: Scenario, errors: list[float], rng_for: RngFor) -> PlatformFile:
    rng = rng_for("mastodon")
    accounts = mastodon_accounts(_people(scenario, "mastodon", rng), rng)
    renderer = _renderer(scenario, "mastodon", rng)
    drafts = _within(plan.drafts_for(scenario, "mastodon", errors, accounts, renderer, rng), scenario)
    for draft in drafts:
        plan.mastodon_engagement(draft, rng)
    plan.thread(drafts, rng, REPLY_SHARE["mastodon"], 0.0, [])
    drafts = _within(drafts + plan.reposts(drafts, accounts, 0.06, rng), scenario)
    writer = formats.MastodonWriter(rng, HOME_INSTANCE)
    writer.assign_ids(drafts)
    bad = _bad_drafts(scenario, scenario.mastodon_malformed, accounts, renderer, rng)
    writer.assign_ids([d for _, d in bad])
    data, malformed, repeats = formats.write_mastodon(writer, drafts, bad)
    stats = {
        "statuses": len(drafts),
        "reblogs": sum(d.kind == "repost" for d in drafts),
        "replies": sum(d.kind == "reply" for d in drafts),
        "repeats": repeats,
        "non_english": sum(d.lang not in ("en", "und", "qht") for d in drafts),
    }
    return PlatformFile(writer.file, data, malformed, stats)


# -- the ingest benchmark stream -------------------------------------------------------

BENCH_START = datetime(2024, 8, 13, 0, 0, tzinfo=timezone.utc)
BENCH_POSTS_PER_SECOND = 250
_BENCH_CATEGORIES = (
    ("cannot_join", 20), ("audio_quality", 8), ("app_crash", 6), ("errors", 5), ("capacity", 4), ("muted", 3),
    ("late_start", 6), ("blame_owner", 8), ("blame_company", 7), ("ddos_skeptic", 6), ("ddos_believer", 4),
    ("mockery", 10), ("leaving", 3), ("defender", 3), ("news", 2), ("talk", 4), ("offtopic", 2), ("emoji_only", 1),
)


def iter_x_responses(
    n_posts: int,
    seed: int = 1,
    start: datetime = BENCH_START,
    posts_per_response: int = 100,
    malformed_share: float = 0.005,
) -> Iterator[bytes]:
    """X API v2 response lines (JSON bytes, no newline) holding exactly ``n_posts`` tweets, for the ingest benchmark.

    Texts come from the sample's templates, pre-rendered into a pool; posts are
    250 a second from ``start``, about 1 in 10 a retweet. Before about
    ``malformed_share`` of the responses comes an extra, damaged copy of it
    (cut off, or with bytes that are not UTF-8): rejected lines that hold no
    posts of their own, so ingesting yields ``n_posts`` posts plus those rejects.
    """
    rng = random.Random(f"bench/{seed}")
    texts, users, metrics = _bench_pools(rng)
    start_ms = ids.millis(start)
    seconds: dict[int, str] = {}
    for first in range(0, n_posts, posts_per_response):
        data, included = [], {}
        for i in range(first, min(first + posts_per_response, n_posts)):
            ms = start_ms + i * 1000 // BENCH_POSTS_PER_SECOND
            tweet_id = str(((ms - ids.TWITTER_EPOCH_MS) << 22) | (i & 0x3FFFFF))
            second = ms // 1000
            created = seconds.get(second) or seconds.setdefault(second, ids.iso_ms(ids.from_millis(second * 1000), millis=False))
            user_id, user = users[rng.getrandbits(12)]
            included[user_id] = user
            text, lang, entities, retweet_of = texts[rng.getrandbits(12)]
            tweet = {"id": tweet_id, "text": text, "created_at": created, "author_id": user_id, "conversation_id": tweet_id,
                     "lang": lang, "possibly_sensitive": False, "public_metrics": metrics[rng.getrandbits(10)]}
            if entities:
                tweet["entities"] = entities
            if retweet_of and i >= retweet_of:
                j = i - retweet_of
                ref = ((start_ms + j * 1000 // BENCH_POSTS_PER_SECOND - ids.TWITTER_EPOCH_MS) << 22) | (j & 0x3FFFFF)
                tweet["referenced_tweets"] = [{"type": "retweeted", "id": str(ref)}]
            tweet["edit_history_tweet_ids"] = [tweet_id]
            data.append(tweet)
        data.reverse()
        meta = {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"], "result_count": len(data)}
        line = formats.dumps({"data": data, "includes": {"users": list(included.values())}, "meta": meta})
        if rng.random() < malformed_share:
            yield _damaged(line, rng)
        yield line


def _damaged(line: bytes, rng: random.Random) -> bytes:
    cut = rng.randrange(len(line) // 4, len(line) * 3 // 4)
    return line[:cut] if rng.random() < 0.5 else line[:cut] + b"\xff\xfe" + line[cut:]


def _bench_pools(rng: random.Random) -> tuple[list, list, list]:
    """4,096 rendered texts (with entities), 4,096 authors and 1,024 metric objects to draw from."""
    scenario = SCENARIOS[0]
    accounts = x_users(make_people(rng, 4096, scenario.truth.window_start, 0), rng)[:4096]
    users = [(u.id, u.as_json()) for u in accounts]
    writer = formats.XWriter(rng, {u.username: u.id for u in accounts})
    renderer = _renderer(scenario, "x", rng)
    categories, weights = zip(*_BENCH_CATEGORIES)
    begin, end = scenario.truth.scheduled_start, scenario.truth.end_at
    texts = []
    while len(texts) < 4096:
        at = begin + (end - begin) * rng.random()
        category = rng.choices(categories, weights)[0]
        try:
            text, lang = renderer.post(category, rng.choice(accounts).person.lang, at)
        except LookupError:  # e.g. talk about the conversation before it started
            continue
        retweet_of = 0
        if rng.random() < 0.1:
            text = f"RT @{rng.choice(accounts).username}: {text}"[: formats.MAX_RETWEET_TEXT]
            retweet_of = rng.randrange(50, 5000)
        shaped, urls = writer.shaped_text(Draft(at, category, text, lang, None))
        texts.append((shaped, lang, writer.entities(shaped, urls) or None, retweet_of))
    metrics = []
    for _ in range(1024):
        draft = Draft(begin, "mockery", "", "en", rng.choice(accounts))
        plan.x_engagement(draft, rng)
        metrics.append(formats.XWriter.metrics(draft))
    return texts, users, metrics
