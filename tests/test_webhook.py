"""The webhook receiver over real HTTP: uvicorn on a free port, httpx as the sender, and a
consumer that stores each batch in a real DuckDB file before acknowledging it."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import aclosing, suppress

import httpx
import orjson
import pytest

from conftest import tweet, x_response
from pipeline.ingest import ingest_records
from pipeline.sources.live.webhook import FORMAT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookReceiver, sign, signed_headers
from pipeline.store import Store

SECRET = "groundswell-test-secret"
MAX_BODY = 2048
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def jetstream_post(rkey: str, text: str = "Spaces will not load") -> dict:
    record = {"$type": "app.bsky.feed.post", "createdAt": "2024-08-13T00:01:02.123Z", "langs": ["en"], "text": text}
    commit = {"rev": "3kzjbd2k4sk2y", "operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey, "record": record, "cid": "bafy"}
    return {"did": DID, "time_us": 1723507262123456, "kind": "commit", "commit": commit}


def mastodon_status(number: int) -> dict:
    return {
        "id": f"11295000000000000{number}",
        "uri": f"https://fosstodon.org/users/ann/statuses/{number}",
        "created_at": "2024-08-13T00:05:00.000Z",
        "content": "<p>Spaces is down</p>",
        "reblog": None,
        "account": {"acct": "ann", "url": "https://fosstodon.org/@ann", "uri": "https://fosstodon.org/users/ann"},
    }


def stored_ids(db_path) -> list[str]:
    with Store.open(db_path, read_only=True) as store:
        return [row[0] for row in store.query("SELECT id FROM posts ORDER BY id")]


def exchange(db_path, send, *, acknowledge: bool = True, commit_delay: float = 0.0, **options):
    """Serve a receiver while ``send(client, url)`` runs; each batch is stored in ``db_path``,
    then acknowledged (without ``acknowledge``: neither stored nor acknowledged).
    Returns what ``send`` returned and the batches received."""
    receiver = WebhookReceiver(SECRET, port=0, max_body_bytes=MAX_BODY, **options)
    received = []

    async def store_batches():
        async with aclosing(receiver.batches()) as batches:
            async for batch in batches:
                received.append(batch)
                if not acknowledge:
                    continue
                with Store.open(db_path) as store:
                    await asyncio.to_thread(ingest_records, store, batch.records, source=batch.source, origin=batch.origin)
                await asyncio.sleep(commit_delay)
                receiver.acknowledge(batch.cursor)

    async def scenario():
        consumer = asyncio.create_task(store_batches())
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                return await send(client, receiver.url)
        finally:
            consumer.cancel()
            with suppress(asyncio.CancelledError):
                await consumer

    async def bounded():
        async with asyncio.timeout(20):
            return await scenario()

    return asyncio.run(bounded()), received


def post(client: httpx.AsyncClient, url: str, document, *, fmt: str | None = None, path: str = "") -> httpx.Response:
    body = orjson.dumps(document)
    return client.post(url + path, content=body, headers=signed_headers(SECRET, body, fmt))


def test_a_signed_x_response_is_stored_and_answered_only_once_committed(db_path):
    async def send(client, url):
        started = time.monotonic()
        response = await post(client, url, x_response(tweet("1001"), tweet("1002")))
        return response, time.monotonic() - started

    (response, elapsed), received = exchange(db_path, send, commit_delay=0.3)
    assert response.status_code == 200
    assert response.json() == {"posts": 2, "rejected": 0, "skipped": 0}
    assert elapsed >= 0.3  # the answer waited for the acknowledgement
    assert stored_ids(db_path) == ["x:1001", "x:1002"]
    assert [batch.cursor for batch in received] == [1]


def test_each_format_is_named_by_the_path_or_a_header_or_detected(db_path):
    async def send(client, url):
        return [
            await post(client, url, x_response(tweet("2001")), path="/x"),
            await post(client, url, [jetstream_post("3kzjaaaaaaa2x"), {"did": DID, "time_us": 1, "kind": "identity", "identity": {}}], fmt="bluesky"),
            await post(client, url, [mastodon_status(1), mastodon_status(2)]),
        ]

    responses, received = exchange(db_path, send)
    assert [r.json() for r in responses] == [
        {"posts": 1, "rejected": 0, "skipped": 0},
        {"posts": 1, "rejected": 0, "skipped": 1},
        {"posts": 2, "rejected": 0, "skipped": 0},
    ]
    assert [(batch.source, batch.cursor) for batch in received] == [("x", 1), ("bluesky", 2), ("mastodon", 3)]
    assert stored_ids(db_path) == [
        f"bluesky:at://{DID}/app.bsky.feed.post/3kzjaaaaaaa2x",
        "mastodon:https://fosstodon.org/users/ann/statuses/1",
        "mastodon:https://fosstodon.org/users/ann/statuses/2",
        "x:2001",
    ]


def test_a_bad_record_in_a_good_request_is_kept_as_a_rejection(db_path):
    async def send(client, url):
        return await post(client, url, x_response(tweet("3001"), tweet("3002", created_at="soon")))

    response, _ = exchange(db_path, send)
    assert response.json() == {"posts": 1, "rejected": 1, "skipped": 0}
    assert stored_ids(db_path) == ["x:3001"]
    with Store.open(db_path, read_only=True) as store:
        assert store.query("SELECT source, reason FROM rejected") == [("x", "bad_time")]


def test_the_same_request_sent_again_stores_nothing_twice(db_path):
    async def send(client, url):
        return [await post(client, url, x_response(tweet("4001"))) for _ in range(2)]

    responses, _ = exchange(db_path, send)
    assert [r.status_code for r in responses] == [200, 200]
    assert stored_ids(db_path) == ["x:4001"]


def _unsigned(body: bytes) -> dict:
    return {"Content-Type": "application/json"}


def _wrong_secret(body: bytes) -> dict:
    return signed_headers("another-secret", body)


def _old_timestamp(body: bytes) -> dict:
    then = str(int(time.time()) - 301)
    return {TIMESTAMP_HEADER: then, SIGNATURE_HEADER: sign(SECRET, then, body)}


def _tampered(body: bytes) -> dict:
    return signed_headers(SECRET, body.replace(b"1", b"2"))


def _unknown_format(body: bytes) -> dict:
    return signed_headers(SECRET, body, fmt="myspace")


async def _chunks(body: bytes):
    for start in range(0, len(body), 512):
        yield body[start : start + 512]


VALID = orjson.dumps(x_response(tweet("5001")))
OVERSIZED = orjson.dumps(x_response(*(tweet(str(6000 + n)) for n in range(20))))


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (VALID, _unsigned, 401, "unsigned"),
        (VALID, _wrong_secret, 401, "signature does not match"),
        (VALID, _tampered, 401, "signature does not match"),
        (VALID, _old_timestamp, 401, "more than 300 s"),
        (OVERSIZED, lambda body: signed_headers(SECRET, body), 413, "over the limit"),
        (b'{"data": [', lambda body: signed_headers(SECRET, body), 400, "not JSON"),
        (VALID, _unknown_format, 422, "unknown format 'myspace'"),
        (b'{"hello": "world"}', lambda body: signed_headers(SECRET, body), 422, "cannot tell the format"),
    ],
    ids=["unsigned", "wrong-secret", "tampered-body", "replayed-old-timestamp", "oversized", "malformed-json", "unknown-format", "not-a-post-format"],
)
def test_a_request_that_fails_a_check_is_refused_logged_and_not_stored(db_path, caplog, body, headers, status, reason):
    async def send(client, url):
        return await client.post(url, content=body, headers=headers(body))

    with caplog.at_level(logging.WARNING, logger="pipeline.sources.live.webhook"):
        response, received = exchange(db_path, send)
    assert response.status_code == status
    assert reason in response.json()["error"]
    assert received == []
    assert f"refused a request from 127.0.0.1 with {status}: " in caplog.text
    assert reason in caplog.text


def test_an_oversized_body_sent_without_a_length_is_refused_while_it_is_read(db_path):
    async def send(client, url):
        return await client.post(url, content=_chunks(OVERSIZED), headers=signed_headers(SECRET, OVERSIZED))

    response, received = exchange(db_path, send)
    assert response.status_code == 413
    assert received == []


def test_a_batch_not_committed_in_time_is_answered_503_so_the_sender_retries(db_path):
    async def send(client, url):
        return await post(client, url, x_response(tweet("7001")))

    response, received = exchange(db_path, send, acknowledge=False, ack_timeout=0.3)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert len(received) == 1


def test_the_signature_is_hmac_sha256_of_the_timestamp_a_dot_and_the_body():
    # openssl dgst -sha256 -hmac groundswell-test-secret <<< '1700000000.{"data":[]}' (without the newline)
    expected = "v1=6397849027188ff50d70fd5a4a3597983bd475a141546ad18967ee81b1fd7f18"
    assert sign(SECRET, 1700000000, b'{"data":[]}') == expected
    headers = signed_headers(SECRET, b"{}", fmt="x")
    assert set(headers) == {TIMESTAMP_HEADER, SIGNATURE_HEADER, FORMAT_HEADER, "Content-Type"}
