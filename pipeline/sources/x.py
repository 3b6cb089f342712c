"""X API v2 responses: ``{"data": [...], "includes": {"users": [...]}}``.

As the recent-search and filtered-stream endpoints return them, one response per
line or a JSON array of responses. A filtered-stream line holds one tweet as an
object under ``data``; a search page holds a list. Authors come from
``includes.users``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline.schema import Post, Reason, Rejection
from pipeline.sources.base import SKIPPED, JsonSource, Record, dumps, json_object, wrong_type
from pipeline.sources.framing import raw_text

_REFERENCE_FIELDS = {"replied_to": "reply_to_id", "retweeted": "repost_of_id", "quoted": "quote_of_id"}


class XSource(JsonSource):
    name = "x"
    description = "X API v2 search / filtered-stream responses (data + includes.users)"

    def parse(self, position: int, response: Any, raw: bytes) -> Iterator[Record]:
        """The posts of one response; a response without ``data`` is one rejected record,
        a page whose ``data`` is empty one skipped record (well-formed, but no post in it)."""
        if not isinstance(response, dict) or "data" not in response:
            if isinstance(response, dict):
                detail = f"a response without 'data': {dumps(response)[:160]}"
            else:
                detail = f"a JSON {type(response).__name__}, not a response object"
            yield Rejection(position, Reason.NOT_A_POST, detail, raw_text(raw))
            return
        tweets = response["data"]
        if isinstance(tweets, dict):
            tweets = [tweets]
        try:
            users = {user["id"]: user for user in (response.get("includes") or {}).get("users", ())}
        except (TypeError, KeyError, AttributeError):
            users = {}
        if not isinstance(tweets, list):
            yield Rejection(position, Reason.WRONG_TYPE, f"'data' is a JSON {type(tweets).__name__}", raw_text(raw))
            return
        if not tweets:
            yield SKIPPED
            return
        for item, tweet in enumerate(tweets):
            yield self.parse_tweet(tweet, users, position, item)

    def parse_tweet(self, tweet: Any, users: dict[str, Any], position: int, item: int) -> Post | Rejection:
        raw = dumps(tweet)
        try:
            return self.make_post(self._fields(tweet, users, raw), position, item)
        except (TypeError, AttributeError, KeyError, ValueError) as error:
            return wrong_type(position, error, raw, item)

    @staticmethod
    def _fields(tweet: dict[str, Any], users: dict[str, Any], raw: str) -> dict[str, Any]:
        metrics = json_object(tweet.get("public_metrics"), "public_metrics")
        author = users.get(tweet.get("author_id")) or {}
        author_metrics = json_object(author.get("public_metrics"), "the author's public_metrics")
        fields = {
            "native_id": tweet.get("id"),
            "text": tweet.get("text"),
            "created_at": tweet.get("created_at"),
            "author_id": tweet.get("author_id"),
            "author_handle": author.get("username"),
            "author_name": author.get("name"),
            "author_followers": author_metrics.get("followers_count"),
            "lang": tweet.get("lang"),
            "like_count": metrics.get("like_count"),
            "repost_count": metrics.get("retweet_count"),
            "reply_count": metrics.get("reply_count"),
            "quote_count": metrics.get("quote_count"),
            "raw": raw,
        }
        for reference in tweet.get("referenced_tweets") or ():
            column = _REFERENCE_FIELDS.get(reference["type"])
            if column:
                fields[column] = reference["id"]
        handle = author.get("username")
        if handle and fields["native_id"]:
            fields["url"] = f"https://x.com/{handle}/status/{fields['native_id']}"
        return fields
