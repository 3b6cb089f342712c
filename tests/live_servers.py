"""Local servers on 127.0.0.1 that speak the live protocols, for tests.

* :class:`JetstreamServer`: a websocket server (``websockets``) at ``/subscribe``
  that honours ``wantedCollections`` and replays from ``cursor`` (time_us);
* :class:`MastodonServer`: Mastodon's streaming API as server-sent events
  (``update`` and ``delete`` events, ``:thump`` heartbeats) and its REST
  timelines with ``min_id`` / ``since_id`` / ``max_id`` / ``limit`` and ``Link``
  headers (Starlette + uvicorn);
* :class:`XStreamServer`: X's filtered stream, one JSON line per tweet over
  chunked HTTP with blank keep-alive lines, ``backfill_minutes``, the bearer
  token checked, scripted error answers (Starlette + uvicorn).

Each serves a recorded list of messages as if they were being published: a
message is published when a connected client is ready for the next one, so
what a client gets is deterministic. ``drop_after`` scripts failures: once that
many messages are published the connection is cut mid-stream, and ``missed``
more are published while the client is away; only the source's resume
mechanism (cursor, catch-up, backfill) can get those back. Each server runs in
its own thread and event loop (``with Server(...) as server:``), so it serves a
source read in the test's loop or in a flow's thread alike, and records the
requests it got (``server.requests``) for the tests to check.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class _Cut(Exception):
    """Raised inside a streaming response to cut the connection mid-body, as a network failure would."""


class _QuietCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _Cut))


logging.getLogger("uvicorn.error").addFilter(_QuietCuts())


class Publication:
    """Recorded messages, published one at a time, with scripted connection drops."""

    def __init__(self, count: int, drop_after: Sequence[int] = (), missed: int = 2):
        self.count = count
        self.published = 0
        self.published_at: list[float] = []
        self.drop_after = sorted(drop_after)
        self.missed = missed

    def publish(self) -> bool:
        """Publish the next message; False when all are published."""
        if self.published == self.count:
            return False
        self.published += 1
        self.published_at.append(time.time())
        return True

    def cut_now(self) -> bool:
        """True when the connection is to be cut here; the messages 'missed' meanwhile are published."""
        if not self.drop_after or self.drop_after[0] != self.published:
            return False
        self.drop_after.pop(0)
        for _ in range(self.missed):
            self.publish()
        return True


class _ServerThread:
    """A server run in a daemon thread with its own event loop, on a free port of 127.0.0.1."""

    def __init__(self, port: int = 0) -> None:
        self._socket = socket.create_server(("127.0.0.1", port))
        self.port = self._socket.getsockname()[1]
        self.requests: list[dict[str, Any]] = []
        self.closing = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self._serve()

    async def _serve(self) -> None:
        raise NotImplementedError

    async def _serve_asgi(self, app: Starlette) -> None:
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[self._socket]))
        self._ready.set()
        await self._stop.wait()
        self.closing = True
        server.should_exit = True
        await serving

    async def _until_closing(self) -> None:
        while not self.closing:
            await asyncio.sleep(0.02)


class JetstreamServer(_ServerThread):
    """Bluesky Jetstream: ``ws://127.0.0.1:<port>/subscribe?wantedCollections=...&cursor=...``."""

    def __init__(
        self, events: Sequence[bytes], *, drop_after: Sequence[int] = (), missed: int = 2, pace: float = 0.002, port: int = 0
    ):
        super().__init__(port)
        self.events = list(events)
        self.times = [orjson.loads(event)["time_us"] for event in self.events]
        self.publication = Publication(len(self.events), drop_after, missed)
        self.pace = pace
        self.url = f"ws://127.0.0.1:{self.port}/subscribe?wantedCollections=app.bsky.feed.post"

    async def _serve(self) -> None:
        async with serve(self._subscriber, sock=self._socket):
            self._ready.set()
            await self._stop.wait()

    async def _subscriber(self, connection: ServerConnection) -> None:
        query = parse_qs(urlsplit(connection.request.path).query)
        params = {name: values[-1] for name, values in query.items()}
        wanted = query.get("wantedCollections", [])
        self.requests.append(params)
        index = self._first_at(int(params["cursor"])) if "cursor" in params else self.publication.published
        try:
            while True:
                if index == self.publication.published and not self.publication.publish():
                    await connection.wait_closed()
                    return
                event = self.events[index]
                index += 1
                if _wanted(orjson.loads(event), wanted):
                    await connection.send(event.decode())
                if index == self.publication.published and self.publication.cut_now():
                    await asyncio.sleep(0.05)  # let what was sent reach the client, then cut without a close frame
                    connection.transport.abort()
                    return
                await asyncio.sleep(self.pace)
        except ConnectionClosed:
            return

    def _first_at(self, cursor: int) -> int:
        """Jetstream replays the events at or after the cursor."""
        for index in range(self.publication.published):
            if self.times[index] >= cursor:
                return index
        return self.publication.published


def _wanted(event: dict[str, Any], collections: list[str]) -> bool:
    if event.get("kind") != "commit" or not collections:
        return True  # identity and account events go to every subscriber
    return event["commit"]["collection"] in collections


class XStreamServer(_ServerThread):
    """X API v2 filtered stream at ``http://127.0.0.1:<port>/2/tweets/search/stream``.

    ``refusals``: HTTP statuses to answer the first connection attempts with
    (e.g. [503, 429]); ``stall_after``: once that many are published, the
    connection goes silent (no keep-alive either) until the client gives up."""

    def __init__(
        self,
        lines: Sequence[bytes],
        *,
        token: str = "test-bearer-token",
        drop_after: Sequence[int] = (),
        missed: int = 2,
        stall_after: Sequence[int] = (),
        refusals: Sequence[int] = (),
        keepalive: float = 0.05,
        pace: float = 0.002,
    ):
        super().__init__()
        self.lines = list(lines)
        self.token = token
        self.publication = Publication(len(self.lines), drop_after, missed)
        self.stall_after = list(stall_after)
        self.refusals = list(refusals)
        self.keepalive = keepalive
        self.pace = pace
        self.statuses: list[int] = []
        self.url = f"http://127.0.0.1:{self.port}/2/tweets/search/stream"

    async def _serve(self) -> None:
        await self._serve_asgi(Starlette(routes=[Route("/2/tweets/search/stream", self._stream)]))

    async def _stream(self, request: Request) -> Response:
        self.requests.append(dict(request.query_params))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            self.statuses.append(401)
            return JSONResponse({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, 401)
        if self.refusals:
            status = self.refusals.pop(0)
            self.statuses.append(status)
            title = "Too Many Requests" if status == 429 else "Service Unavailable"
            return JSONResponse({"title": title, "detail": title, "type": "about:blank", "status": status}, status)
        self.statuses.append(200)
        backfill = int(request.query_params.get("backfill_minutes", "0"))
        return StreamingResponse(self._lines(backfill), media_type="application/json")

    async def _lines(self, backfill_minutes: int) -> AsyncIterator[bytes]:
        since = time.time() - backfill_minutes * 60
        if backfill_minutes:
            for index, published_at in enumerate(self.publication.published_at):
                if published_at >= since:
                    yield self.lines[index] + b"\r\n"
        index = self.publication.published
        while not self.closing:
            if index == self.publication.published and not self.publication.publish():
                yield b"\r\n"  # keep-alive
                await asyncio.sleep(self.keepalive)
                continue
            yield self.lines[index] + b"\r\n"
            index += 1
            if index % 3 == 0:
                yield b"\r\n"
            if index == self.publication.published and self.stall_after and self.stall_after[0] == index:
                self.stall_after.pop(0)
                await self._until_closing()
                return
            if index == self.publication.published and self.publication.cut_now():
                raise _Cut
            await asyncio.sleep(self.pace)


class MastodonServer(_ServerThread):
    """Mastodon's streaming API and REST timelines at ``http://127.0.0.1:<port>``."""

    def __init__(
        self,
        statuses: Sequence[dict[str, Any]],
        *,
        token: str = "test-access-token",
        drop_after: Sequence[int] = (),
        missed: int = 2,
        heartbeat: float = 0.05,
        pace: float = 0.005,
    ):
        super().__init__()
        self.statuses = sorted(statuses, key=lambda status: (len(status["id"]), status["id"]))
        self.token = token
        self.publication = Publication(len(self.statuses), drop_after, missed)
        self.heartbeat = heartbeat
        self.pace = pace
        self.url = f"http://127.0.0.1:{self.port}"

    async def _serve(self) -> None:
        app = Starlette(
            routes=[
                Route("/api/v1/streaming/hashtag", self._stream),
                Route("/api/v1/streaming/public", self._stream),
                Route("/api/v1/timelines/tag/{tag}", self._timeline),
                Route("/api/v1/timelines/public", self._timeline),
            ]
        )
        await self._serve_asgi(app)

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _stream(self, request: Request) -> Response:
        self.requests.append({"path": request.url.path, **request.query_params})
        if not self._authorised(request):
            return JSONResponse({"error": "The access token is invalid"}, 401)
        return StreamingResponse(self._events(), media_type="text/event-stream")

    async def _events(self) -> AsyncIterator[bytes]:
        yield b":)\n"
        index = self.publication.published
        while not self.closing:
            if index == self.publication.published and not self.publication.publish():
                yield b":thump\n"
                await asyncio.sleep(self.heartbeat)
                continue
            status = self.statuses[index]
            index += 1
            yield b"event: update\ndata: " + orjson.dumps(status) + b"\n\n"
            if index % 5 == 0:
                yield b"event: delete\ndata: 100000000000000001\n\n"
            if index == self.publication.published and self.publication.cut_now():
                raise _Cut
            await asyncio.sleep(self.pace)

    async def _timeline(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.requests.append({"path": request.url.path, **query})
        if not self._authorised(request):
            return JSONResponse({"error": "The access token is invalid"}, 401)
        limit = min(int(query.get("limit", 20)), 40)
        visible = self.statuses[: self.publication.published]
        chosen = [status for status in visible if _in_range(status["id"], query)]
        page = chosen[:limit] if "min_id" in query else chosen[-limit:]
        page.reverse()  # newest first, as Mastodon answers
        headers = {}
        if page:
            base = str(request.url.replace(query=None))
            headers["Link"] = (
                f'<{base}?{urlencode({"max_id": page[-1]["id"]})}>; rel="next", '
                f'<{base}?{urlencode({"min_id": page[0]["id"]})}>; rel="prev"'
            )
        return Response(orjson.dumps(page), media_type="application/json", headers=headers)


def _order(status_id: str) -> tuple[int, str]:
    return len(status_id), status_id


def _in_range(status_id: str, query: dict[str, str]) -> bool:
    key = _order(status_id)
    if "max_id" in query and not key < _order(query["max_id"]):
        return False
    for lower in ("min_id", "since_id"):
        if lower in query and not key > _order(query[lower]):
            return False
    return True
