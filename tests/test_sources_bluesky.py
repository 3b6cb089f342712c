from datetime import datetime, timezone

import orjson

from conftest import write_lines
from pipeline.schema import Reason, Rejection
from pipeline.sources import SKIPPED, Limits
from pipeline.sources.bluesky import BlueskySource

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def post_event(rkey: str = "3kzjbcz5pbs2x", text: str = "Spaces is down again", **record_fields) -> dict:
    record = {"$type": "app.bsky.feed.post", "createdAt": "2024-08-13T00:01:02.123Z", "langs": ["en", "de"], "text": text}
    return commit("create", "app.bsky.feed.post", rkey, {**record, **record_fields})


def commit(operation: str, collection: str, rkey: str, record: dict | None = None) -> dict:
    body = {"rev": "3kzjbd2k4sk2y", "operation": operation, "collection": collection, "rkey": rkey}
    if record is not None:
        body |= {"record": record, "cid": "bafyreia3tbsfxe3cc75xrxyyn6qc42oupi73fxiox76prlyi5bpx7hr72u"}
    return {"did": DID, "time_us": 1723507262123456, "kind": "commit", "commit": body}


def read(path, limits=None):
    return list(BlueskySource(limits).read(path))


def test_a_post_commit_becomes_one_normalised_post(tmp_path):
    (post,) = read(write_lines(tmp_path / "jetstream.jsonl", post_event()))
    assert post == {
        "source": "bluesky",
        "native_id": f"at://{DID}/app.bsky.feed.post/3kzjbcz5pbs2x",
        "text": "Spaces is down again",
        "created_at": datetime(2024, 8, 13, 0, 1, 2, 123000, tzinfo=timezone.utc),
        "author_id": DID,
        "author_handle": None,
        "author_name": None,
        "author_followers": None,
        "lang": "en",
        "url": f"https://bsky.app/profile/{DID}/post/3kzjbcz5pbs2x",
        "reply_to_id": None,
        "repost_of_id": None,
        "quote_of_id": None,
        "like_count": None,
        "repost_count": None,
        "reply_count": None,
        "quote_count": None,
        "raw": orjson.dumps(post_event()).decode(),
    }


def test_a_reply_and_a_quote_point_at_the_at_uris_of_their_posts(tmp_path):
    parent = f"at://{DID}/app.bsky.feed.post/3kzjaaaaaaa2x"
    quoted = "at://did:plc:abc/app.bsky.feed.post/3kzjqqqqqqq2x"
    reply = {"parent": {"uri": parent, "cid": "bafyp"}, "root": {"uri": parent, "cid": "bafyp"}}
    path = write_lines(
        tmp_path / "j.jsonl",
        post_event("1", reply=reply),
        post_event("2", embed={"$type": "app.bsky.embed.record", "record": {"uri": quoted, "cid": "bafyq"}}),
        post_event("3", embed={"$type": "app.bsky.embed.recordWithMedia", "record": {"record": {"uri": quoted}}, "media": {}}),
        post_event("4", embed={"$type": "app.bsky.embed.record", "record": {"uri": "at://did:plc:abc/app.bsky.feed.generator/hot"}}),
    )
    assert [(post["reply_to_id"], post["quote_of_id"]) for post in read(path)] == [
        (parent, None),
        (None, quoted),
        (None, quoted),
        (None, None),
    ]


def test_jetstream_likes_follows_deletes_and_identity_events_are_skipped_not_rejected(tmp_path):
    like = commit("create", "app.bsky.feed.like", "3l1", {"$type": "app.bsky.feed.like", "subject": {"uri": "at://x"}})
    path = write_lines(
        tmp_path / "j.jsonl",
        like,
        commit("create", "app.bsky.graph.follow", "3l2", {"$type": "app.bsky.graph.follow", "subject": DID}),
        commit("delete", "app.bsky.feed.post", "3kzjbcz5pbs2x"),
        commit("update", "app.bsky.feed.post", "3kzjbcz5pbs2x", {"text": "edited"}),
        {"did": DID, "time_us": 1, "kind": "identity", "identity": {"did": DID, "handle": "ann.bsky.social"}},
        {"did": DID, "time_us": 2, "kind": "account", "account": {"active": False, "status": "deactivated"}},
    )
    assert read(path) == [SKIPPED] * 6


def test_the_cursor_is_the_events_time_in_microseconds():
    assert BlueskySource.cursor_of(post_event()) == 1723507262123456
    assert [BlueskySource.cursor_of(event) for event in ({"kind": "commit"}, {"time_us": "1"}, [1])] == [None, None, None]


def test_each_kind_of_bad_event_is_rejected_with_its_reason_and_position(tmp_path):
    no_rkey = post_event()
    del no_rkey["commit"]["rkey"]
    path = write_lines(
        tmp_path / "bad.jsonl",
        orjson.dumps(post_event())[:60],
        orjson.dumps(post_event("9", "caf\u00e9 down")).decode().encode("latin-1"),
        post_event(text=""),
        post_event(createdAt="2024-08-13T25:01:02Z"),
        post_event(createdAt=None),
        post_event(langs="en"),
        no_rkey,
        {"kind": "commit", "commit": "create"},
        {"error": "ConsumerTooSlow"},
        ["not", "an", "event"],
        post_event(text="x" * 30),
    )
    results = read(path, Limits(max_text_chars=20))
    assert all(isinstance(result, Rejection) for result in results)
    assert [(r.position, r.reason) for r in results] == [
        (1, Reason.NOT_JSON),
        (2, Reason.WRONG_ENCODING),
        (3, Reason.MISSING_TEXT),
        (4, Reason.BAD_TIME),
        (5, Reason.MISSING_TIME),
        (6, Reason.WRONG_TYPE),
        (7, Reason.MISSING_ID),
        (8, Reason.WRONG_TYPE),
        (9, Reason.NOT_A_POST),
        (10, Reason.NOT_A_POST),
        (11, Reason.OVERSIZE),
    ]
    assert results[8].detail == "not a Jetstream event: kind None"


def test_an_event_over_the_byte_limit_is_rejected_as_oversize(tmp_path):
    (result,) = read(write_lines(tmp_path / "big.jsonl", post_event(text="y" * 3000)), Limits(max_record_bytes=1024))
    assert (result.position, result.reason) == (1, Reason.OVERSIZE)
