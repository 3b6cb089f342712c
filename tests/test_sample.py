"""The committed sample incidents in data/: reproducible byte for byte, and holding what the analytics rely on."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
import yaml

from pipeline.sample import generate_sample, iter_x_responses
from pipeline.sample.truth import AUG_2024, INCIDENTS, MAY_2023, IncidentTruth

SAMPLE = Path(__file__).resolve().parent.parent / "data"
FILES = (
    "README.md",
    "metrics.prometheus.json",
    "posts.bluesky.jsonl",
    "posts.mastodon.json",
    "posts.x.jsonl",
    "statuspage.json",
    "timeline.yaml",
)
_ROW = re.compile(r"^\| `(?P<file>[\w.]+)` \| (?:line|element) (?P<pos>\d+)(?:, `data\[(?P<item>\d+)\]`)? \| `(?P<reason>\w+)` \|")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("sample")
    return out, generate_sample(out)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _x_tweets(truth: IncidentTruth) -> dict[str, dict]:
    """Every distinct, well-formed tweet of the incident's X file, by id."""
    tweets = {}
    for line in (SAMPLE / truth.id / "posts.x.jsonl").read_bytes().splitlines():
        try:
            response = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        for tweet in response.get("data", ()):
            if isinstance(tweet.get("text"), str) and "id" in tweet and tweet["created_at"][:2] == "20":
                tweets[tweet["id"]] = tweet
    return tweets


def _per_minute(truth: IncidentTruth) -> Counter:
    return Counter(_time(t["created_at"]).replace(second=0) for t in _x_tweets(truth).values())


def _series(truth: IncidentTruth, name: str) -> dict[datetime, float]:
    document = orjson.loads((SAMPLE / truth.id / "metrics.prometheus.json").read_bytes())
    (series,) = [s for s in document["data"]["result"] if s["metric"]["__name__"] == name]
    return {datetime.fromtimestamp(t, timezone.utc): float(v) for t, v in series["values"]}


def _malformed_rows(truth: IncidentTruth) -> list[dict]:
    readme = (SAMPLE / truth.id / "README.md").read_text()
    return [m.groupdict() for line in readme.splitlines() if (m := _ROW.match(line))]


def test_generator_reproduces_the_committed_sample_byte_for_byte(regenerated):
    out, _ = regenerated
    for truth in INCIDENTS:
        assert sorted(p.name for p in (SAMPLE / truth.id).iterdir()) == list(FILES)
        for name in FILES:
            assert (out / truth.id / name).read_bytes() == (SAMPLE / truth.id / name).read_bytes(), f"{truth.id}/{name} differs"


def test_generate_sample_returns_the_path_of_every_file_it_wrote(regenerated):
    out, paths = regenerated
    assert sorted(paths) == sorted(out / t.id / name for t in INCIDENTS for name in FILES)


def test_the_sample_stays_under_eight_megabytes():
    assert sum(p.stat().st_size for t in INCIDENTS for p in (SAMPLE / t.id).iterdir()) < 8_000_000


def test_every_file_ends_lines_with_a_bare_newline():
    for truth in INCIDENTS:
        for name in FILES:
            data = (SAMPLE / truth.id / name).read_bytes()
            assert data.endswith(b"\n") and b"\r" not in data, name


@pytest.mark.parametrize(("truth", "low", "high"), [(AUG_2024, 5_500, 7_000), (MAY_2023, 550, 900)])
def test_the_x_file_holds_the_planned_number_of_tweets(truth, low, high):
    assert low <= len(_x_tweets(truth)) <= high


def test_the_smaller_incident_has_between_600_and_1000_posts_in_all():
    x = len(_x_tweets(MAY_2023))
    folder = SAMPLE / MAY_2023.id
    bluesky = (folder / "posts.bluesky.jsonl").read_bytes().count(b'"collection":"app.bsky.feed.post","rkey"')
    mastodon = (folder / "posts.mastodon.json").read_bytes().count(b'\n{"id"')
    assert 600 <= x + bluesky + mastodon <= 1_000


@pytest.mark.parametrize("truth", INCIDENTS, ids=lambda t: t.id)
def test_every_post_falls_inside_the_incident_window(truth):
    folder = SAMPLE / truth.id
    times = [_time(t["created_at"]) for t in _x_tweets(truth).values()]
    for line in (folder / "posts.bluesky.jsonl").read_bytes().splitlines():
        try:
            record = orjson.loads(line).get("commit", {}).get("record", {})
        except orjson.JSONDecodeError:
            continue
        if "createdAt" in record:
            times.append(_time(record["createdAt"]))
    for status in orjson.loads((folder / "posts.mastodon.json").read_bytes()):
        if status["created_at"][14:16] != "61":
            times.append(_time(status["created_at"]))
    assert truth.window_start <= min(times) and max(times) < truth.window_end


def test_news_coverage_quotes_appear_verbatim_in_the_x_posts():
    texts = {t["text"] for t in _x_tweets(AUG_2024).values()}
    for quote in AUG_2024.verbatim_posts:
        assert quote in texts
    for _, statement in AUG_2024.statements:
        assert statement in texts


@pytest.mark.parametrize("truth", INCIDENTS, ids=lambda t: t.id)
def test_the_hour_before_the_scheduled_start_is_a_clean_baseline_that_the_social_onset_breaks(truth):
    counts = _per_minute(truth)
    baseline = [counts[truth.window_start + timedelta(minutes=m)] for m in range(60)]
    before_onset = counts[truth.social_onset - timedelta(minutes=1)]
    assert max(baseline) < 2 * statistics.mean(baseline)
    assert before_onset <= max(baseline) < counts[truth.social_onset]


@pytest.mark.parametrize("truth", INCIDENTS, ids=lambda t: t.id)
def test_the_join_error_ratio_first_reaches_ten_percent_at_the_server_onset(truth):
    errors = _series(truth, "spaces_join_error_ratio")
    assert min(t for t, v in errors.items() if v >= 0.10) == truth.server_onset
    assert truth.social_onset == truth.server_onset + timedelta(minutes=truth.complaint_lag_minutes)


@pytest.mark.parametrize("truth", INCIDENTS, ids=lambda t: t.id)
def test_post_volume_trails_the_join_error_ratio_by_the_ground_truth_lag(truth):
    errors = _series(truth, "spaces_join_error_ratio")
    counts = _per_minute(truth)
    minutes = sorted(errors)[:-10]

    def correlation(lag: int) -> float:
        return statistics.correlation([errors[m] for m in minutes], [counts[m + timedelta(minutes=lag)] for m in minutes])

    assert max(range(8), key=correlation) == truth.complaint_lag_minutes


@pytest.mark.parametrize("truth", INCIDENTS, ids=lambda t: t.id)
def test_the_post_volume_peaks_inside_the_peak_window(truth):
    counts = _per_minute(truth)
    start, end = truth.peak_window
    assert start <= max(counts, key=counts.get) <= end


def test_listeners_climb_to_about_1_3_million_after_the_mitigation():
    listeners = _series(AUG_2024, "spaces_concurrent_listeners")
    assert 1_250_000 < max(listeners.values()) < 1_400_000
    during = [v for t, v in listeners.items() if AUG_2024.server_onset < t < AUG_2024.mitigation_at]
    assert min(during) < 300_000


def test_the_2023_audience_falls_from_about_600000_to_about_40000_and_recovers_to_about_100000():
    listeners = _series(MAY_2023, "spaces_concurrent_listeners")
    during = [v for t, v in listeners.items() if MAY_2023.server_onset <= t < MAY_2023.mitigation_at]
    after = [v for t, v in listeners.items() if MAY_2023.mitigation_at + timedelta(minutes=15) <= t < MAY_2023.end_at]
    assert 560_000 < max(during) < 640_000
    assert 35_000 < min(during) < 60_000
    assert 90_000 < statistics.mean(after) < 110_000


@pytest.mark.parametrize("truth", INCIDENTS, ids=lambda t: t.id)
def test_statuspage_updates_are_newest_first_and_the_first_alert_comes_after_the_social_onset(truth):
    (incident,) = orjson.loads((SAMPLE / truth.id / "statuspage.json").read_bytes())["incidents"]
    updates = incident["incident_updates"]
    times = [datetime.fromisoformat(u["created_at"]) for u in updates]
    assert times == sorted(times, reverse=True)
    assert [u["status"] for u in updates] == ["resolved", "monitoring", "identified", "investigating"]
    assert times[-1] == truth.first_internal_alert > truth.social_onset
    assert updates[-1]["created_at"].endswith("-04:00")


@pytest.mark.parametrize("truth", INCIDENTS, ids=lambda t: t.id)
def test_the_timeline_yaml_names_the_incident_and_its_events_in_eastern_time(truth):
    timeline = yaml.safe_load((SAMPLE / truth.id / "timeline.yaml").read_text())
    assert timeline["incident"]["id"] == truth.id
    schedule = [e for e in timeline["events"] if e["kind"] == "schedule"]
    assert datetime.fromisoformat(schedule[0]["at"]) == truth.scheduled_start
    kinds = {e["kind"] for e in timeline["events"]}
    assert kinds <= {"statement", "deploy", "scaling_test", "schedule", "mitigation"}
    assert all(e["at"].endswith("-04:00") for e in timeline["events"])


def test_about_one_x_post_in_eleven_is_not_in_english():
    langs = Counter(t["lang"] for t in _x_tweets(AUG_2024).values())
    share = sum(n for lang, n in langs.items() if lang not in ("en", "und", "qht")) / sum(langs.values())
    assert 0.06 < share < 0.12
    assert {"es", "pt", "de", "fr", "ja"} <= set(langs)


def test_the_x_file_has_retweets_replies_quotes_and_repeated_tweets():
    references = Counter(r["type"] for t in _x_tweets(AUG_2024).values() for r in t.get("referenced_tweets", ()))
    assert min(references[kind] for kind in ("retweeted", "replied_to", "quoted")) > 50
    seen = Counter()
    for line in (SAMPLE / AUG_2024.id / "posts.x.jsonl").read_bytes().splitlines():
        try:
            seen.update(t.get("id") for t in orjson.loads(line).get("data", ()))
        except orjson.JSONDecodeError:
            continue
    assert sum(1 for n in seen.values() if n == 2) > 10


@pytest.mark.parametrize("truth", INCIDENTS, ids=lambda t: t.id)
def test_every_malformed_record_the_readme_lists_is_broken_the_way_it_says(truth):
    rows = _malformed_rows(truth)
    assert {r["file"] for r in rows} == {"posts.x.jsonl", "posts.bluesky.jsonl", "posts.mastodon.json"}
    statuses = orjson.loads((SAMPLE / truth.id / "posts.mastodon.json").read_bytes())
    for row in rows:
        position, reason = int(row["pos"]), row["reason"]
        if row["file"] == "posts.mastodon.json":
            assert _mastodon_fault(statuses[position - 1]) == reason
            continue
        line = (SAMPLE / truth.id / row["file"]).read_bytes().splitlines()[position - 1]
        item = None if row["item"] is None else int(row["item"])
        assert _line_fault(line, item) == reason, row


@pytest.mark.parametrize("truth", INCIDENTS, ids=lambda t: t.id)
def test_no_line_fails_to_parse_unless_the_readme_lists_it(truth):
    listed = {(r["file"], int(r["pos"])) for r in _malformed_rows(truth) if r["reason"] in ("not_json", "wrong_encoding")}
    for name in ("posts.x.jsonl", "posts.bluesky.jsonl"):
        for number, line in enumerate((SAMPLE / truth.id / name).read_bytes().splitlines(), start=1):
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                assert (name, number) in listed


def _line_fault(line: bytes, item: int | None) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return "wrong_encoding"
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "not_json"
    if "commit" in record:
        return "missing_time" if "createdAt" not in record["commit"]["record"] else "valid"
    if "data" not in record:
        return "not_a_post"
    tweet = record["data"][item]
    if "id" not in tweet:
        return "missing_id"
    if "text" not in tweet:
        return "missing_text"
    if not isinstance(tweet["public_metrics"], dict):
        return "wrong_type"
    if len(tweet["text"]) > 25_000:
        return "oversize"
    try:
        _time(tweet["created_at"])
    except ValueError:
        return "bad_time"
    return "valid"


def _mastodon_fault(status: dict) -> str:
    if status["content"] == "" and status["reblog"] is None:
        return "missing_text"
    if not isinstance(status["favourites_count"], int):
        return "wrong_type"
    try:
        _time(status["created_at"])
    except ValueError:
        return "bad_time"
    return "valid"


def test_bluesky_holds_non_post_events_to_skip():
    kinds = Counter()
    for line in (SAMPLE / AUG_2024.id / "posts.bluesky.jsonl").read_bytes().splitlines():
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        commit = event.get("commit", {})
        kinds[event["kind"] if event["kind"] != "commit" else f"{commit['operation']} {commit['collection']}"] += 1
    for kind in ("identity", "account", "create app.bsky.feed.like", "create app.bsky.feed.repost", "delete app.bsky.feed.post"):
        assert kinds[kind] > 0, kind
    assert 500 <= kinds["create app.bsky.feed.post"] <= 800


def test_iter_x_responses_holds_exactly_the_posts_asked_for_plus_rejectable_lines():
    lines = list(iter_x_responses(12_345, seed=7, posts_per_response=100, malformed_share=0.05))
    sizes, ids, broken = [], set(), 0
    for line in lines:
        try:
            data = orjson.loads(line)["data"]
        except orjson.JSONDecodeError:
            broken += 1
            continue
        sizes.append(len(data))
        ids.update(t["id"] for t in data)
    assert sizes == [100] * 123 + [45]
    assert len(ids) == 12_345
    assert 0 < broken < 20


def test_iter_x_responses_is_the_same_for_the_same_seed_and_differs_for_another():
    first = list(iter_x_responses(500, seed=3))
    assert first == list(iter_x_responses(500, seed=3))
    assert first != list(iter_x_responses(500, seed=4))


def test_iter_x_responses_ids_grow_with_created_at():
    tweets = [t for line in iter_x_responses(3_000, malformed_share=0) for t in reversed(orjson.loads(line)["data"])]
    assert [int(t["id"]) for t in tweets] == sorted(int(t["id"]) for t in tweets)
    assert [t["created_at"] for t in tweets] == sorted(t["created_at"] for t in tweets)
