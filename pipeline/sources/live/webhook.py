"""Webhook receiver: posts pushed to us over HTTP, signed with a shared secret.

``POST /posts`` (or ``/posts/<format>``) takes one JSON document: an X API
response, a Jetstream event, a Mastodon status, or a JSON array of any one of
them. The format comes from the path, else the ``X-Groundswell-Format`` header,
else the document's keys; the records are parsed by that format's file adapter,
so a bad record in a good request is kept as a Rejection like a bad line in a
file.

Signing, the scheme Slack and Stripe use: the sender puts the Unix time in
``X-Groundswell-Timestamp`` and ``v1=<hex>`` in ``X-Groundswell-Signature``,
the hex HMAC-SHA256, keyed by the shared secret, of ``<timestamp>.<body>``
(:func:`sign`). The timestamp inside the signature is what makes a captured
request useless five minutes later. Refused, each with a log line:

=============================================  ======
no timestamp or signature                      401
timestamp more than five minutes away          401
signature that does not match                  401
body larger than ``max_body_bytes``            413
body that is not JSON                          400
JSON in no format we read                      422
=============================================  ======

An accepted request becomes one Batch on the receiver's bounded queue (a full
queue makes the sender wait, up to ``ack_timeout``: backpressure). The answer,
``200 {"posts": n, "rejected": n, "skipped": n}``, is sent only once the flow
has acknowledged the batch as committed, so a sender that sees no 200 sends
again, and the store's post ids keep the retry from duplicating anything; an
acknowledgement that does not come within ``ack_timeout`` answers 503. The
cursor is the number of requests accepted so far; a push source cannot be
replayed, so on restart it only carries the count on.

The server (uvicorn) runs in the event loop that iterates ``batches`` and stops
when the iteration is closed. Ctrl-C while it runs lets the requests in flight
finish, then raises KeyboardInterrupt as usual.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pipeline.errors import LiveSourceError
from pipeline.schema import Rejection
from pipeline.sources.base import SKIPPED, JsonSource, Limits, Record
from pipeline.sources.bluesky import BlueskySource
from pipeline.sources.live.base import Batch, Cursor, LiveSource
from pipeline.sources.mastodon import MastodonSource
from pipeline.sources.registry import record_format
from pipeline.sources.x import XSource

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Groundswell-Timestamp"
SIGNATURE_HEADER = "X-Groundswell-Signature"
FORMAT_HEADER = "X-Groundswell-Format"
SIGNATURE_VERSION = "v1"
FORMATS: dict[str, type[JsonSource]] = {"x": XSource, "bluesky": BlueskySource, "mastodon": MastodonSource}


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Groundswell-Signature`` value for a body sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(secret: str, body: bytes, fmt: str | None = None) -> dict[str, str]:
    """Headers that make ``body`` a valid request now (for senders written in Python)."""
    timestamp = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body), "Content-Type": "application/json"}
    if fmt:
        headers[FORMAT_HEADER] = fmt
    return headers


class _Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WebhookReceiver(LiveSource):
    name = "webhook"

    def __init__(
        self,
        secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8787,
        max_body_bytes: int = 1_048_576,
        tolerance_seconds: float = 300.0,
        queue_size: int = 64,
        ack_timeout: float = 30.0,
        limits: Limits | None = None,
    ):
        # Bound and listening now, so the URL (and a port 0's real port) is known before serving;
        # connections made before the server starts wait in the backlog.
        self._socket = socket.create_server((host, port))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}/posts"
        self.origin = self.url
        self._secret = secret.encode()
        self.max_body_bytes = max_body_bytes
        self.tolerance_seconds = tolerance_seconds
        self.queue_size = queue_size
        self.ack_timeout = ack_timeout
        self._parsers = {name: adapter(limits) for name, adapter in FORMATS.items()}
        self.app = Starlette(
            routes=[Route("/posts", self._receive, methods=["POST"]), Route("/posts/{format}", self._receive, methods=["POST"])]
        )
        self._accepted = 0
        self._committed = 0
        self._next_position = 0
        self._waiting: dict[int, asyncio.Future[bool]] = {}
        self._queue: asyncio.Queue[Batch] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def batches(self, cursor: Cursor = None) -> AsyncIterator[Batch]:
        if cursor is not None and (not isinstance(cursor, int) or isinstance(cursor, bool) or cursor < 0):
            raise LiveSourceError(f"{self.origin}: the stored cursor {cursor!r} is not a count of requests; start without a cursor")
        self._accepted = self._committed = cursor or 0
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(self.queue_size)
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5)
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[self._socket]))
        try:
            while True:
                taking = asyncio.ensure_future(self._queue.get())
                try:
                    await asyncio.wait({taking, serving}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    taking.cancel()
                if taking.cancelled():  # the server stopped (Ctrl-C)
                    return
                yield taking.result()
        finally:
            for waiting in self._waiting.values():  # senders still waiting get their 503 now
                if not waiting.done():
                    waiting.set_result(False)
            server.should_exit = True
            await serving
            self._socket.close()

    def acknowledge(self, cursor: Cursor) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._release, int(cursor))

    def _release(self, upto: int) -> None:
        self._committed = max(self._committed, upto)
        for sequence in [s for s in self._waiting if s <= self._committed]:
            future = self._waiting.pop(sequence)
            if not future.done():
                future.set_result(True)

    async def _receive(self, request: Request) -> JSONResponse:
        try:
            batch = await self._accept(request)
        except _Refused as refused:
            client = request.client.host if request.client else "?"
            log.warning("webhook: refused a request from %s with %d: %s", client, refused.status, refused.reason)
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        if (batch.records or batch.skipped) and not await self._hand_on(batch):
            log.warning("webhook: a batch was not committed within %g s; answered 503", self.ack_timeout)
            return JSONResponse({"error": "not stored in time; send it again"}, status_code=503, headers={"Retry-After": "5"})
        rejected = sum(isinstance(record, Rejection) for record in batch.records)
        return JSONResponse({"posts": len(batch.records) - rejected, "rejected": rejected, "skipped": batch.skipped})

    async def _accept(self, request: Request) -> Batch:
        timestamp = self._check_timestamp(request)
        body = await self._read_body(request)
        self._check_signature(request, timestamp, body)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise _Refused(400, f"the body is not JSON: {error}") from None
        fmt = self._format(request, document)
        records = self._records(fmt, document)
        kept = [record for record in records if record is not SKIPPED]
        return Batch(kept, None, fmt, self.origin, skipped=len(records) - len(kept))  # type: ignore[arg-type]  # the cursor comes when queued

    def _check_timestamp(self, request: Request) -> str:
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if not timestamp or not request.headers.get(SIGNATURE_HEADER):
            raise _Refused(401, f"unsigned: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
        try:
            age = time.time() - int(timestamp)
        except ValueError:
            raise _Refused(401, f"{TIMESTAMP_HEADER} is not Unix seconds: {timestamp[:40]!r}") from None
        if abs(age) > self.tolerance_seconds:
            raise _Refused(401, f"{TIMESTAMP_HEADER} is {age:+.0f} s from now, more than {self.tolerance_seconds:g} s: a replay or a wrong clock")
        return timestamp

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _Refused(413, f"the body is {int(declared):,} bytes, over the limit of {self.max_body_bytes:,}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise _Refused(413, f"the body is over the limit of {self.max_body_bytes:,} bytes")
        return bytes(body)

    def _check_signature(self, request: Request, timestamp: str, body: bytes) -> None:
        expected = sign(self._secret.decode(), timestamp, body)
        if not hmac.compare_digest(expected.encode(), request.headers[SIGNATURE_HEADER].encode()):
            raise _Refused(401, "the signature does not match the body and timestamp")

    def _format(self, request: Request, document: Any) -> str:
        named = request.path_params.get("format") or request.headers.get(FORMAT_HEADER)
        if named:
            if named not in FORMATS:
                raise _Refused(422, f"unknown format {named!r}; use one of: {', '.join(FORMATS)}")
            return named
        first = document[0] if isinstance(document, list) and document else document
        detected = record_format(first) if isinstance(first, dict) else None
        if detected is None:
            raise _Refused(422, f"cannot tell the format of the body; name it in the path (/posts/x) or in {FORMAT_HEADER}")
        return detected

    def _records(self, fmt: str, document: Any) -> list[Record]:
        """Each element of the document (one, or an array's) as its file adapter reads it."""
        elements = document if isinstance(document, list) else [document]
        # Positions only need to be unique for the rejected table: microseconds, never reused.
        first = max(self._next_position, time.time_ns() // 1000)
        self._next_position = first + len(elements)
        parser = self._parsers[fmt]
        return [record for offset, element in enumerate(elements) for record in parser.parse(first + offset, element, orjson.dumps(element))]

    async def _hand_on(self, batch: Batch) -> bool:
        """Queue the batch and wait until it is committed; False if that takes longer than ack_timeout."""
        assert self._queue is not None
        self._accepted += 1
        sequence = self._accepted
        committed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting[sequence] = committed
        try:
            async with asyncio.timeout(self.ack_timeout):
                await self._queue.put(replace(batch, cursor=sequence))
                return await committed
        except TimeoutError:
            return False
        finally:
            self._waiting.pop(sequence, None)
