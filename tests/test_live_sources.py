"""The live sources against local servers that speak the real protocols (tests/live_servers.py).

Every stream test cuts the connection mid-stream (or starts over from a stored
cursor) and asserts the exact sequence of post ids received: nothing missed,
nothing twice.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from contextlib import ExitStack, aclosing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from conftest import tweet, write_lines, x_response
from live_servers import JetstreamServer, MastodonServer, XStreamServer
from pipeline.config import load_settings
from pipeline.errors import ConfigError, LiveSourceError
from pipeline.schema import Reason, Rejection
from pipeline.sources.live import live_source, stream_keywords
from pipeline.sources.live.base import Backoff, Batch, KeywordFilter, RecentKeys
from pipeline.sources.live.jetstream import JetstreamSource
from pipeline.sources.live.mastodon_stream import MastodonStreamSource
from pipeline.sources.live.replay import ReplaySource
from pipeline.sources.live.x_stream import XBackoff, XStreamSource
from pipeline.sources import SKIPPED
from pipeline.sources.bluesky import BlueskySource
from pipeline.sources.mastodon import html_to_text

LIVE_DATA = Path(__file__).parent / "data" / "live"
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "spaces-2024-08-12"
FAST = Backoff(first=0.01, maximum=0.05)
SPACE_WORDS = ["space", "spaces"]
SPACE_REGEX = re.compile(r"(?<!\w)spaces?(?!\w)", re.IGNORECASE)


def lines(name: str) -> list[bytes]:
    return [line.rstrip(b"\n") for line in (LIVE_DATA / name).read_bytes().splitlines() if line.strip()]


def run(scenario, timeout: float = 20.0):
    async def bounded():
        async with asyncio.timeout(timeout):
            return await scenario

    return asyncio.run(bounded())


async def take(source, until, cursor=None) -> list[Batch]:
    """Batches from the source until ``until(batches)`` holds; the source is closed after."""
    batches: list[Batch] = []
    async with aclosing(source.batches(cursor)) as stream:
        async for batch in stream:
            batches.append(batch)
            if until(batches):
                break
    return batches


def post_ids(batches: list[Batch]) -> list[str]:
    return [record["native_id"] for batch in batches for record in batch.records if not isinstance(record, Rejection)]


def seen(last_id: str):
    return lambda batches: last_id in post_ids(batches)


# Jetstream ------------------------------------------------------------------------------------


def jetstream_expected(events: list[bytes]) -> list[tuple[str, int]]:
    """(at-URI, time_us) of the post creations whose text says space or spaces, in stream order."""
    expected = []
    for event in map(orjson.loads, events):
        commit = event.get("commit") or {}
        if commit.get("collection") == "app.bsky.feed.post" and commit.get("operation") == "create":
            if SPACE_REGEX.search(commit["record"]["text"]):
                expected.append((f"at://{event['did']}/app.bsky.feed.post/{commit['rkey']}", event["time_us"]))
    return expected


JETSTREAM_EVENTS = lines("jetstream.jsonl")
JETSTREAM_EXPECTED = jetstream_expected(JETSTREAM_EVENTS)
JETSTREAM_URIS = [uri for uri, _ in JETSTREAM_EXPECTED]


def test_jetstream_keeps_the_keyword_posts_and_counts_what_it_leaves_out():
    events = [orjson.loads(event) for event in JETSTREAM_EVENTS]
    events = [event for event in events if event["time_us"] <= JETSTREAM_EXPECTED[-1][1]]  # up to the last one awaited
    posts = [e for e in events if e["kind"] == "commit" and e["commit"]["collection"] == "app.bsky.feed.post"]
    with JetstreamServer(JETSTREAM_EVENTS) as server:
        source = JetstreamSource(server.url, keywords=SPACE_WORDS, backoff=FAST, cursor_every=0.0)
        batches = run(take(source, seen(JETSTREAM_URIS[-1])))
    assert post_ids(batches) == JETSTREAM_URIS
    assert sum(batch.filtered for batch in batches) == len(posts) - len(JETSTREAM_URIS)
    # identity and account events; likes never come (wantedCollections=app.bsky.feed.post)
    assert sum(batch.skipped for batch in batches) == sum(e["kind"] != "commit" for e in events)
    assert {batch.source for batch in batches} == {"bluesky"}
    assert batches[-1].cursor["time_us"] == JETSTREAM_EXPECTED[-1][1]


def test_jetstream_resumes_after_a_dropped_connection_from_the_rewound_cursor_with_no_gap_and_no_repeat():
    # A rewind of an hour replays most of what was already handed on: every repeat must be dropped.
    with JetstreamServer(JETSTREAM_EVENTS, drop_after=[12, 26], missed=3) as server:
        source = JetstreamSource(server.url, keywords=SPACE_WORDS, rewind_seconds=3600, backoff=FAST, cursor_every=0.0)
        batches = run(take(source, seen(JETSTREAM_URIS[-1])))
    assert post_ids(batches) == JETSTREAM_URIS
    assert len(server.requests) == 3 and "cursor" not in server.requests[0]
    sent_before_the_cut = [e for e in map(orjson.loads, JETSTREAM_EVENTS[:12]) if e.get("commit", {}).get("collection", "app.bsky.feed.post") == "app.bsky.feed.post"]
    assert int(server.requests[1]["cursor"]) == sent_before_the_cut[-1]["time_us"] - 3600 * 1_000_000


def test_jetstream_restarted_from_a_stored_cursor_continues_exactly_where_it_stopped():
    with JetstreamServer(JETSTREAM_EVENTS) as server:
        first = run(take(JetstreamSource(server.url, keywords=SPACE_WORDS, backoff=FAST), seen(JETSTREAM_URIS[3])))
        stored = orjson.loads(orjson.dumps(first[-1].cursor))  # as it comes back from the database
        rest = run(take(JetstreamSource(server.url, keywords=SPACE_WORDS, backoff=FAST), seen(JETSTREAM_URIS[-1]), cursor=stored))
    assert post_ids(first) + post_ids(rest) == JETSTREAM_URIS
    assert stored["time_us"] == JETSTREAM_EXPECTED[3][1]
    assert int(server.requests[1]["cursor"]) == stored["time_us"] - 3_000_000  # the default rewind, 3 s


def test_jetstream_refuses_a_cursor_it_did_not_write():
    source = JetstreamSource("ws://127.0.0.1:9/subscribe", backoff=FAST)
    with pytest.raises(LiveSourceError, match="stored cursor"):
        run(take(source, lambda batches: True, cursor={"position": 3}))


def test_jetstream_keeps_retrying_while_the_server_is_down_and_reads_once_it_is_back(caplog):
    with JetstreamServer(JETSTREAM_EVENTS) as gone:
        port, url = gone.port, gone.url
    source = JetstreamSource(url, keywords=SPACE_WORDS, backoff=FAST)

    with ExitStack() as servers:

        async def scenario():
            reading = asyncio.create_task(take(source, seen(JETSTREAM_URIS[-1])))
            await asyncio.sleep(0.3)
            assert not reading.done()
            servers.enter_context(JetstreamServer(JETSTREAM_EVENTS, port=port))
            return await reading

        batches = run(scenario())
    assert post_ids(batches) == JETSTREAM_URIS
    assert "cannot connect" in caplog.text


# Mastodon -------------------------------------------------------------------------------------


def mastodon_statuses() -> list[dict]:
    return [orjson.loads(line) for line in lines("mastodon.jsonl")]


def test_mastodon_catches_up_through_rest_after_a_dropped_stream_with_no_gap_and_no_repeat():
    statuses = mastodon_statuses()
    expected = [status["uri"] for status in statuses]
    with MastodonServer(statuses, drop_after=[5, 11], missed=2) as server:
        source = MastodonStreamSource(server.url, access_token=server.token, hashtag="spaces", backoff=FAST)
        batches = run(take(source, seen(expected[-1])))
    assert post_ids(batches) == expected
    streams = [i for i, request in enumerate(server.requests) if request["path"] == "/api/v1/streaming/hashtag"]
    assert len(streams) == 3
    assert server.requests[0] == {"path": "/api/v1/timelines/tag/spaces", "limit": "1"}  # "now" is after the newest status
    for reconnect in streams[1:]:  # each new stream is followed by a catch-up from the last status handed on
        assert server.requests[reconnect + 1]["min_id"] in {batch.cursor["last_id"] for batch in batches}
    assert batches[-1].cursor == {"last_id": statuses[-1]["id"]}


def test_mastodon_restarted_from_a_cursor_pages_forward_through_everything_published_meanwhile():
    statuses = mastodon_statuses()
    expected = [status["uri"] for status in statuses]
    with MastodonServer(statuses) as server:
        first = run(take(MastodonStreamSource(server.url, access_token=server.token, hashtag="spaces", backoff=FAST), seen(expected[2])))
        for _ in range(9):  # published while nobody listens
            server.publication.publish()
        source = MastodonStreamSource(server.url, access_token=server.token, hashtag="spaces", backoff=FAST, page_size=2)
        rest = run(take(source, seen(expected[-1]), cursor=first[-1].cursor))
    assert post_ids(first) + post_ids(rest) == expected
    catch_up = [r for r in server.requests if "min_id" in r and r["limit"] == "2"]
    assert catch_up[0]["min_id"] == first[-1].cursor["last_id"]
    published_meanwhile = len(expected) - expected.index(post_ids(first)[-1]) - 1
    # two a page, each next page found through Link: rel="prev"
    assert len(catch_up) >= math.ceil(published_meanwhile / 2) >= 2


def test_mastodon_filters_by_keyword_and_skips_other_events():
    statuses = mastodon_statuses()
    expected = [status["uri"] for status in statuses if SPACE_REGEX.search(html_to_text(status["content"]))]
    with MastodonServer(statuses) as server:
        source = MastodonStreamSource(
            server.url, access_token=server.token, hashtag="spaces", keywords=SPACE_WORDS, backoff=FAST, cursor_every=0.0
        )
        batches = run(take(source, lambda batches: sum(len(b.records) + b.filtered + b.skipped for b in batches) == len(statuses) + 3))
    assert post_ids(batches) == expected
    assert sum(batch.filtered for batch in batches) == len(statuses) - len(expected)
    assert sum(batch.skipped for batch in batches) == 3  # the server's delete events after statuses 5, 10, 15


def test_mastodon_with_a_bad_token_stops_with_one_clear_error():
    with MastodonServer(mastodon_statuses()) as server:
        source = MastodonStreamSource(server.url, access_token="wrong", hashtag="spaces", backoff=FAST)
        with pytest.raises(LiveSourceError, match="HTTP 401.*mastodon_access_token"):
            run(take(source, lambda batches: True))


# X --------------------------------------------------------------------------------------------


X_LINES = lines("x_stream.jsonl")
X_IDS = [orjson.loads(line)["data"]["id"] for line in X_LINES]
X_REJECTED = X_IDS[6]  # its created_at is "yesterday evening"
X_POSTS = [tweet_id for tweet_id in X_IDS if tweet_id != X_REJECTED]


def x_source(server: XStreamServer, **options) -> XStreamSource:
    options.setdefault("backoff", XBackoff().scaled(0.001))
    return XStreamSource(server.url, bearer_token=server.token, **options)


def rejected_positions(batches: list[Batch]) -> list[int]:
    return [record.position for batch in batches for record in batch.records if isinstance(record, Rejection)]


def test_x_stream_resumes_with_backfill_after_a_cut_with_no_gap_and_no_repeat():
    with XStreamServer(X_LINES, drop_after=[4, 9], missed=2) as server:
        batches = run(take(x_source(server), seen(X_POSTS[-1])))
    assert post_ids(batches) == X_POSTS
    assert rejected_positions(batches) == [int(X_REJECTED)]
    assert [request.get("backfill_minutes") for request in server.requests] == [None, "1", "1"]


def test_x_stream_treats_a_silence_beyond_the_timeout_as_a_disconnect():
    with XStreamServer(X_LINES, stall_after=[5], keepalive=0.05) as server:
        started = time.monotonic()
        batches = run(take(x_source(server, silence_timeout=0.4), seen(X_POSTS[-1])))
        elapsed = time.monotonic() - started
    assert post_ids(batches) == X_POSTS
    assert server.statuses == [200, 200]
    assert elapsed >= 0.4


def test_x_stream_backs_off_on_http_errors_as_x_documents():
    with XStreamServer(X_LINES, refusals=[503, 503, 429]) as server:
        started = time.monotonic()
        batches = run(take(x_source(server, backoff=XBackoff().scaled(0.01)), seen(X_POSTS[-1])))
        elapsed = time.monotonic() - started
    assert post_ids(batches) == X_POSTS
    assert server.statuses == [503, 503, 429, 200]
    # 5xx: 5 s then 10 s; 429: a minute (all scaled by 0.01 here)
    assert elapsed >= 0.05 + 0.10 + 0.60


def test_x_waits_follow_x_documentation():
    waits = XBackoff().wait()
    assert [waits.next_wait("network") for _ in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert [waits.next_wait("http") for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]
    assert [waits.next_wait("rate_limit") for _ in range(3)] == [60, 120, 240]
    assert max(waits.next_wait("network") for _ in range(100)) == 16


def test_x_stream_restarted_from_a_stored_cursor_drops_what_the_backfill_sends_again():
    with XStreamServer(X_LINES) as server:
        first = run(take(x_source(server), seen(X_POSTS[5])))
        stored = orjson.loads(orjson.dumps(first[-1].cursor))
        rest = run(take(x_source(server), seen(X_POSTS[-1]), cursor=stored))
    assert post_ids(first) + post_ids(rest) == X_POSTS
    assert server.requests[1]["backfill_minutes"] == "1"


def test_x_stream_with_a_bad_token_stops_with_one_clear_error():
    with XStreamServer(X_LINES) as server:
        source = XStreamSource(server.url, bearer_token="wrong", backoff=XBackoff().scaled(0.001))
        with pytest.raises(LiveSourceError, match="HTTP 401.*x_bearer_token"):
            run(take(source, lambda batches: True))


def test_x_stream_sends_cursor_only_batches_on_keep_alives_when_nothing_matches():
    with XStreamServer(X_LINES[:2], keepalive=0.02) as server:
        source = x_source(server, keywords=["no such word anywhere"], cursor_every=0.05)
        batches = run(take(source, lambda batches: len(batches) >= 3))
    assert post_ids(batches) == []
    assert sum(batch.filtered for batch in batches) == 2
    assert batches[-1].cursor["heard_us"] > batches[0].cursor["heard_us"]


# Building blocks --------------------------------------------------------------------------------


def test_recent_keys_forget_what_is_older_than_the_window():
    keys = RecentKeys(window=10, entries=[("a", 1), ("b", 5)])
    keys.add("c", 14)
    assert "a" not in keys and "b" in keys and "c" in keys
    assert keys.entries() == [("b", 5), ("c", 14)]


def test_keyword_filter_matches_whole_words_in_any_case_and_keeps_rejections():
    keep = KeywordFilter(["x spaces", "ddos"])
    post = {"text": "X  Spaces is down, a DDoS they say"}
    assert keep.keeps(post) and not keep.keeps({"text": "myx spacesuit"})
    assert keep.keeps(Rejection(1, Reason.NOT_JSON, "not JSON", "{"))
    assert KeywordFilter([]).keeps({"text": "anything"})


def test_live_sources_are_built_from_the_settings_with_the_profile_keywords_by_default(monkeypatch):
    monkeypatch.setenv("GROUNDSWELL_X_BEARER_TOKEN", "secret-token")
    settings = load_settings()
    source = live_source("x", settings)
    assert isinstance(source, XStreamSource)
    assert source.headers == {"Authorization": "Bearer secret-token"}
    assert "secret-token" not in repr(settings.x_bearer_token)
    assert stream_keywords(settings)[:2] == ["spaces", "the space"]
    assert stream_keywords(load_settings(live_keywords=["outage"])) == ["outage"]


def test_a_live_source_whose_setting_is_missing_is_one_config_error():
    with pytest.raises(ConfigError, match="mastodon_url .*GROUNDSWELL_MASTODON_URL"):
        live_source("mastodon", load_settings())
    with pytest.raises(ConfigError, match="unknown live source 'nntp'"):
        live_source("nntp", load_settings())


# Replay ---------------------------------------------------------------------------------------


def five_tweets_a_second_apart(tmp_path: Path) -> Path:
    start = datetime(2024, 8, 13, 0, 5, tzinfo=timezone.utc)
    tweets = [tweet(str(1000 + n), created_at=(start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")) for n in range(5)]
    return write_lines(tmp_path / "five.x.jsonl", x_response(*reversed(tweets)))  # a search page: newest first


def replay_all(source: ReplaySource, cursor=None) -> list[Batch]:
    async def scenario():
        async with aclosing(source.batches(cursor)) as stream:
            return [batch async for batch in stream]

    return run(scenario())


@pytest.mark.parametrize("speed", [10.0, 50.0])
def test_replay_honours_the_speed_factor(tmp_path, speed):
    source = ReplaySource(five_tweets_a_second_apart(tmp_path), speed=speed)

    started = time.monotonic()

    async def timed():
        arrivals = []
        async with aclosing(source.batches()) as stream:
            async for batch in stream:
                arrivals.append((time.monotonic(), post_ids([batch])))
        return arrivals

    arrivals = run(timed())
    assert [ids for _, ids in arrivals] == [["1000"], ["1001"], ["1002"], ["1003"], ["1004"]]
    elapsed = arrivals[-1][0] - started  # four seconds of recording from the first post to the last
    # Never early; late only by scheduling (generous: a loaded 2-core CI machine), far from real time.
    assert 4.0 / speed <= elapsed < 4.0 / speed * 3 + 0.5


def test_replay_shifts_the_first_post_to_now_and_keeps_the_spacing_and_the_ids(tmp_path):
    source = ReplaySource(five_tweets_a_second_apart(tmp_path), speed=1000.0)
    before = datetime.now(timezone.utc)
    posts = [record for batch in replay_all(source) for record in batch.records]
    times = [post["created_at"] for post in posts]
    assert before <= times[0] <= datetime.now(timezone.utc)
    assert [later - times[0] for later in times] == [timedelta(seconds=n) for n in range(5)]
    assert source.shift == times[0] - datetime(2024, 8, 13, 0, 5, tzinfo=timezone.utc)
    assert orjson.loads(posts[0]["raw"])["created_at"] == "2024-08-13T00:05:00Z"  # the raw record stays as recorded


def test_replay_resumed_from_its_cursor_continues_with_the_next_post_dated_as_before(tmp_path):
    path = five_tweets_a_second_apart(tmp_path)
    whole = [record for batch in replay_all(ReplaySource(path, speed=1000.0)) for record in batch.records]

    async def first_two():
        return await take(ReplaySource(path, speed=1000.0), lambda batches: len(post_ids(batches)) >= 2)

    first = run(first_two())
    rest = replay_all(ReplaySource(path, speed=1000.0), cursor=first[-1].cursor)
    assert post_ids(first) + post_ids(rest) == ["1000", "1001", "1002", "1003", "1004"]
    resumed_times = [record["created_at"] for batch in first + rest for record in batch.records]
    assert [t - resumed_times[0] for t in resumed_times] == [w["created_at"] - whole[0]["created_at"] for w in whole]
    assert first[-1].cursor["shift_us"] == rest[-1].cursor["shift_us"]


def test_replay_of_the_sample_jetstream_capture_plays_every_record_in_publication_order():
    path = SAMPLE / "posts.bluesky.jsonl"
    in_file = list(BlueskySource().read(path))
    batches = replay_all(ReplaySource(path, speed=1e9))
    posts = [record for batch in batches for record in batch.records if not isinstance(record, Rejection)]
    rejected = [record for batch in batches for record in batch.records if isinstance(record, Rejection)]
    assert sorted(p["native_id"] for p in posts) == sorted(r["native_id"] for r in in_file if isinstance(r, dict))
    assert rejected == [r for r in in_file if isinstance(r, Rejection)] and len(rejected) == 3
    assert sum(batch.skipped for batch in batches) == sum(r is SKIPPED for r in in_file) > 100
    assert [p["created_at"] for p in posts] == sorted(p["created_at"] for p in posts)
    assert batches[-1].cursor["position"] == len(in_file) == 861
