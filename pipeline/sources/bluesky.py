"""Bluesky Jetstream events: one JSON event per line, as the websocket sends them.

A post arrives as a commit that creates a record in ``app.bsky.feed.post``::

    {"did": "did:plc:…", "time_us": 1723507262123456, "kind": "commit",
     "commit": {"rev": "…", "operation": "create", "collection": "app.bsky.feed.post",
                "rkey": "3kz…", "cid": "bafy…",
                "record": {"$type": "app.bsky.feed.post", "text": "…", "langs": ["en"],
                           "createdAt": "2024-08-13T00:01:02.123Z",
                           "reply": {"parent": {"uri": "at://…"}, "root": {…}},
                           "embed": {"$type": "app.bsky.embed.record", "record": {"uri": "at://…"}}}}}

Everything else Jetstream sends is well-formed but not a post, and is SKIPPED:
identity and account events, commits in other collections (likes, reposts,
follows), and updates and deletes. An object that is no Jetstream event at all
is rejected as not_a_post.

A post's id is its at-URI, ``at://{did}/app.bsky.feed.post/{rkey}``: replies
and quotes point at their parent by that URI, so ``reply_to_id`` and
``quote_of_id`` join back to ``native_id``. ``created_at`` is the record's
``createdAt`` (the author's clock, the moment the post was written), not
``time_us`` (when the relay passed it on). ``time_us`` is the Jetstream cursor:
a client that reconnects with ``?cursor=<time_us>`` is replayed everything
since; :meth:`BlueskySource.cursor_of` reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline.schema import Post, Reason, Rejection
from pipeline.sources.base import SKIPPED, JsonSource, Record, wrong_type
from pipeline.sources.framing import raw_text

POST_COLLECTION = "app.bsky.feed.post"
_EVENT_KINDS = ("commit", "identity", "account")
_WRONG_SHAPE = (TypeError, AttributeError, KeyError, ValueError)


class BlueskySource(JsonSource):
    name = "bluesky"
    description = "Bluesky Jetstream events, one per line (post creations kept; likes, follows, deletes skipped)"

    def parse(self, position: int, event: Any, raw: bytes) -> Iterator[Record]:
        """One event: a post, SKIPPED when it is no post, or a rejection."""
        problem = _not_an_event(event)
        if problem:
            yield Rejection(position, Reason.NOT_A_POST, problem, raw_text(raw))
            return
        try:
            yield self._post(event, position, raw) if _is_new_post(event) else SKIPPED
        except _WRONG_SHAPE as error:
            yield wrong_type(position, error, raw_text(raw))

    def _post(self, event: dict[str, Any], position: int, raw: bytes) -> Post | Rejection:
        return self.make_post(_fields(event, raw_text(raw)), position)

    @staticmethod
    def cursor_of(event: Any) -> int | None:
        """The event's cursor (``time_us``, microseconds since the epoch), or None.

        Store the last one handled; reconnecting with ``?cursor=`` set to it (a
        few seconds earlier, to be safe: ingest ignores the replayed duplicates)
        resumes the stream without a gap."""
        cursor = event.get("time_us") if isinstance(event, dict) else None
        return cursor if isinstance(cursor, int) and not isinstance(cursor, bool) else None


def _not_an_event(event: Any) -> str | None:
    if not isinstance(event, dict):
        return f"a JSON {type(event).__name__}, not a Jetstream event"
    if event.get("kind") not in _EVENT_KINDS:
        return f"not a Jetstream event: kind {event.get('kind')!r}"
    return None


def _is_new_post(event: dict[str, Any]) -> bool:
    if event["kind"] != "commit":
        return False
    commit = event["commit"]
    return commit["operation"] == "create" and commit["collection"] == POST_COLLECTION


def _fields(event: dict[str, Any], raw: str) -> dict[str, Any]:
    did, commit = event.get("did"), event["commit"]
    record = commit["record"]
    uri = at_uri(did, commit.get("rkey"))
    return {
        "native_id": uri,
        "text": record.get("text"),
        "created_at": record.get("createdAt"),
        "author_id": did,
        "lang": _first(record.get("langs")),
        "url": f"https://bsky.app/profile/{did}/post/{commit['rkey']}" if uri else None,
        "reply_to_id": _reply_parent(record.get("reply")),
        "quote_of_id": _quoted_post(record.get("embed")),
        "raw": raw,
    }


def at_uri(did: Any, rkey: Any) -> str | None:
    """The post's at-URI, or None when the event lacks the did or record key."""
    if not did or not rkey:
        return None
    if not isinstance(did, str) or not isinstance(rkey, str):
        raise TypeError(f"did and rkey should be strings, got {did!r} and {rkey!r}")
    return f"at://{did}/{POST_COLLECTION}/{rkey}"


def _first(langs: Any) -> Any:
    if not langs:
        return None
    if not isinstance(langs, list):
        raise TypeError(f"langs should be a list, got {langs!r}")
    return langs[0]


def _reply_parent(reply: Any) -> Any:
    return reply["parent"]["uri"] if reply else None


def _quoted_post(embed: Any) -> Any:
    """The quoted post's URI: a record embed, alone or with media, that points at a post
    (a record embed may also point at a list or a feed, which is no quote)."""
    if not embed:
        return None
    kind = embed.get("$type")
    if kind == "app.bsky.embed.record":
        uri = embed["record"]["uri"]
    elif kind == "app.bsky.embed.recordWithMedia":
        uri = embed["record"]["record"]["uri"]
    else:
        return None
    return uri if isinstance(uri, str) and f"/{POST_COLLECTION}/" in uri else None
