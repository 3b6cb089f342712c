"""Mastodon Status entities, as the REST API and the streaming API send them.

A file holds a JSON array of statuses (a page of ``/api/v1/timelines/...``, or
the ``statuses`` of ``/api/v2/search``) or one status per line (the payloads of
the streaming API's ``update`` events). The fields used::

    {"id": "112950…", "uri": "https://fosstodon.org/users/ann/statuses/112949…",
     "url": "https://fosstodon.org/@ann/112949…", "created_at": "2024-08-13T00:05:00.000Z",
     "content": "<p>Spaces is down</p>", "spoiler_text": "", "language": "en",
     "in_reply_to_id": null, "reblog": null, "quote": null,
     "replies_count": 1, "reblogs_count": 2, "favourites_count": 7,
     "account": {"acct": "ann@fosstodon.org", "display_name": "Ann", "followers_count": 1200,
                 "url": "https://fosstodon.org/@ann", "uri": "https://fosstodon.org/users/ann"}}

Ids. A status's ``id`` is the row id in the database of the server the file was
fetched from, not of the server the post lives on: the same post read through
two servers has two ids, and two servers may give the same id to different
posts. Scoping the id by the host of ``uri`` does not help, because for a post
from another server that host is the origin while the id is the fetching
server's (two different posts can then collide and one be lost as a
"duplicate"). So ``native_id`` is the status ``uri``: its ActivityPub id,
unique across the fediverse and the same through whichever server it is read.
``repost_of_id`` and ``quote_of_id`` are the reblogged and quoted statuses'
URIs and join back to ``native_id``. ``reply_to_id`` cannot: a status names its
parent only by the fetching server's id, so it is kept as that id. Likewise
``author_id`` is the account's URI (its URL on servers before 4.2), and
``author_handle`` is ``acct`` made whole (``ann@fosstodon.org``: a local
account's ``acct`` is the bare ``ann``).

Text is ``content``'s HTML as plain text (line breaks and paragraphs as
newlines, entities decoded, links as their full text), after the content
warning (``spoiler_text``) when there is one. A reblog is stored as a repost:
the reblogger's status, with the reblogged status's text and language.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from pipeline.schema import Post, Reason, Rejection
from pipeline.sources.base import JsonSource, dumps, wrong_type
from pipeline.sources.framing import raw_text

_WRONG_SHAPE = (TypeError, AttributeError, KeyError, ValueError)


class MastodonSource(JsonSource):
    name = "mastodon"
    description = "Mastodon statuses: a JSON array (REST) or one per line (streaming `update` payloads)"

    def parse(self, position: int, status: Any, raw: bytes) -> Iterator[Post | Rejection]:
        """One status: a post, or a rejection."""
        problem = _not_a_status(status)
        if problem:
            yield Rejection(position, Reason.NOT_A_POST, problem, raw_text(raw))
            return
        try:
            fields = _fields(status, raw_text(raw))
        except _WRONG_SHAPE as error:
            yield wrong_type(position, error, raw_text(raw))
            return
        yield self.make_post(fields, position)


def _not_a_status(status: Any) -> str | None:
    if not isinstance(status, dict):
        return f"a JSON {type(status).__name__}, not a status"
    if "content" in status or "reblog" in status:
        return None
    if "error" in status:
        return f"an error response: {dumps(status['error'])[:200]}"
    return "no 'content' or 'reblog': not a Mastodon status"


def _fields(status: dict[str, Any], raw: str) -> dict[str, Any]:
    reblogged = status.get("reblog")
    shown = reblogged or status
    account = status.get("account") or {}
    return {
        "native_id": status.get("uri"),
        "text": status_text(shown),
        "created_at": status.get("created_at"),
        "author_id": account.get("uri") or account.get("url"),
        "author_handle": full_handle(account),
        "author_name": account.get("display_name"),
        "author_followers": account.get("followers_count"),
        "lang": shown.get("language"),
        "url": status.get("url"),
        "reply_to_id": status.get("in_reply_to_id"),
        "repost_of_id": reblogged["uri"] if reblogged else None,
        "quote_of_id": _quoted_uri(shown.get("quote")),
        "like_count": status.get("favourites_count"),
        "repost_count": status.get("reblogs_count"),
        "reply_count": status.get("replies_count"),
        "raw": raw,
    }


def status_text(status: dict[str, Any]) -> str:
    """The content warning, then the content, as plain text ("" when both are empty)."""
    spoiler = status.get("spoiler_text") or ""
    if not isinstance(spoiler, str):
        raise TypeError(f"spoiler_text should be a string, got {spoiler!r}")
    parts = (spoiler.strip(), html_to_text(status.get("content") or ""))
    return "\n\n".join(part for part in parts if part)


def html_to_text(html: str) -> str:
    """Mastodon's status HTML as the text its author typed: ``<br>`` a newline,
    a paragraph break a blank line, entities decoded, links their full text
    (Mastodon hides part of a long link in ``invisible`` spans; they are kept)."""
    if not isinstance(html, str):
        raise TypeError(f"content should be a string, got {html!r}")
    if not html:
        return ""
    tree = LexborHTMLParser(html)
    for line_break in tree.css("br"):
        line_break.replace_with("\n")
    for paragraph in tree.css("p"):
        paragraph.insert_after("\n\n")
    body = tree.body
    return body.text(separator="").strip() if body else ""


def full_handle(account: dict[str, Any]) -> str | None:
    """``acct`` with its server: a local account's ``acct`` lacks it, and would name
    a different person when the same file is read through another server."""
    acct = account.get("acct")
    if not acct or "@" in acct:
        return acct
    host = urlsplit(account.get("url") or "").hostname
    return f"{acct}@{host}" if host else acct


def _quoted_uri(quote: Any) -> Any:
    """Mastodon 4.4 wraps the quoted status (``{"state": …, "quoted_status": {…}}``);
    some forks put the status itself under ``quote``."""
    if not quote:
        return None
    quoted = quote.get("quoted_status") or quote
    return quoted.get("uri")
