"""Drafts into each platform's real wire format, with the deliberately malformed records mixed in.

- X: API v2 search responses (``data`` newest-first, ``includes.users``, ``meta``), one per line.
- Bluesky: Jetstream events, one per line, in ``time_us`` order, with non-post events to skip.
- Mastodon: one JSON array of v1 Status entities, newest first, one status per line.
"""

from __future__ import annotations

import html
import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from pipeline.sample import ids, texts
from pipeline.sample.plan import Draft
from pipeline.sample.render import spans

MAX_RETWEET_TEXT = 140
SPANISH_LATIN1 = (
    "No puedo entrar al Space, ¿alguien más?",
    "El audio está fatal, qué desastre",
    "Spaces está caído otra vez. Qué vergüenza",
)
"""Texts of the records written in Latin-1 instead of UTF-8 (every character exists in Latin-1)."""


@dataclass(frozen=True)
class Malformed:
    """One deliberately broken record: where it is and the reason an ingester should give."""

    file: str
    position: int  # 1-based line (or array element)
    item: int | None  # index in the response's ``data`` list, for one bad tweet in a good response
    reason: str  # a pipeline.schema.Reason value
    what: str


def dumps(value: Any) -> bytes:
    """Compact JSON, keys in insertion order, UTF-8 (no ASCII escaping)."""
    return orjson.dumps(value)


# -- X ---------------------------------------------------------------------------


class XWriter:
    """Builds X API v2 responses from drafts; every random choice comes from ``rng``."""

    file = "posts.x.jsonl"

    def __init__(self, rng: random.Random, user_ids: dict[str, str]):
        self.rng = rng
        self.user_ids = user_ids  # username -> id, for mention entities
        self.repeated = 0  # tweets that appear in two responses

    def assign_ids(self, drafts: list[Draft]) -> None:
        """Snowflake ids from each post's time, unique; replies share their root's conversation id."""
        seen: set[int] = set()
        for draft in drafts:
            value = ids.snowflake(ids.millis(draft.at), self.rng)
            while value in seen:
                value = ids.snowflake(ids.millis(draft.at), self.rng)
            seen.add(value)
            draft.id = str(value)
            draft.conversation = draft.parent.conversation if draft.kind == "reply" else draft.id
            if draft.kind == "reply":
                draft.text = f"@{draft.parent.author.username} {draft.text}"

    def tweet(self, draft: Draft) -> dict[str, Any]:
        text, urls = self.shaped_text(draft)
        tweet: dict[str, Any] = {
            "id": draft.id,
            "text": text,
            "created_at": ids.iso_ms(draft.at, millis=False),
            "author_id": draft.author.id,
            "conversation_id": draft.conversation,
            "lang": draft.lang,
            "possibly_sensitive": False,
            "public_metrics": self.metrics(draft),
        }
        entities = self.entities(text, urls)
        if entities:
            tweet["entities"] = entities
        if draft.kind != "post":
            kind = {"reply": "replied_to", "quote": "quoted", "repost": "retweeted"}[draft.kind]
            tweet["referenced_tweets"] = [{"type": kind, "id": draft.parent.id}]
        if draft.kind == "reply":
            tweet["in_reply_to_user_id"] = draft.parent.author.id
        tweet["edit_history_tweet_ids"] = [draft.id]
        return tweet

    def shaped_text(self, draft: Draft) -> tuple[str, dict[str, str]]:
        """The tweet text with links shortened to t.co, and each short link's expansion."""
        text = draft.text
        if draft.kind == "repost":
            text = f"RT @{draft.parent.author.username}: {draft.parent.text}"
            if len(text) > MAX_RETWEET_TEXT:
                text = text[: MAX_RETWEET_TEXT - 1].rstrip() + "…"
        urls = {}
        for _, _, url in spans(text).urls:
            if url.startswith("https://t.co/"):
                continue
            short = ids.tco(self.rng)
            urls[short] = url
            text = text.replace(url, short, 1)
        if draft.kind == "quote":
            short = ids.tco(self.rng)
            urls[short] = f"https://x.com/{draft.parent.author.username}/status/{draft.parent.id}"
            text = f"{text} {short}"
        return text, urls

    @staticmethod
    def metrics(draft: Draft) -> dict[str, int]:
        if draft.kind == "repost":
            return {"retweet_count": draft.parent.reposts, "reply_count": 0, "like_count": 0, "quote_count": 0, "bookmark_count": 0, "impression_count": 0}
        return {
            "retweet_count": draft.reposts,
            "reply_count": draft.replies,
            "like_count": draft.likes,
            "quote_count": draft.quotes,
            "bookmark_count": draft.bookmarks,
            "impression_count": draft.impressions,
        }

    def entities(self, text: str, urls: dict[str, str]) -> dict[str, list]:
        found = spans(text)
        entities: dict[str, list] = {}
        if found.hashtags:
            entities["hashtags"] = [{"start": s, "end": e, "tag": tag} for s, e, tag in found.hashtags]
        mentions = [
            {"start": s, "end": e, "username": name, "id": self.user_ids[name]} for s, e, name in found.mentions if name in self.user_ids
        ]
        if mentions:
            entities["mentions"] = mentions
        links = [(s, e, url) for s, e, url in found.urls if url in urls]
        if links:
            entities["urls"] = [
                {"start": s, "end": e, "url": url, "expanded_url": urls[url], "display_url": _display_url(urls[url])}
                for s, e, url in links
            ]
        return entities

    def responses(self, drafts: list[Draft]) -> list[list[dict]]:
        """Tweets in poll-sized chunks (10-100), each chunk newest-first; some repeat the previous chunk's newest."""
        chunks, start, previous = [], 0, []
        while start < len(drafts):
            size = self.rng.randint(10, 100)
            chunk = drafts[start : start + size]
            start += size
            tweets = [self.tweet(d) for d in chunk]
            if previous and self.rng.random() < 0.25:
                overlap = previous[-self.rng.choice((1, 1, 2)) :]  # an overlapping poll
                self.repeated += len(overlap)
                tweets = overlap + tweets
            chunks.append(tweets[::-1])
            previous = tweets
        return chunks

    def response_line(self, tweets: list[dict], users: dict[str, dict]) -> bytes:
        included: dict[str, dict] = {}
        for tweet in tweets:
            author = tweet.get("author_id")
            if author in users and author not in included:
                included[author] = users[author]
        meta = {"newest_id": tweets[0].get("id", ""), "oldest_id": tweets[-1].get("id", ""), "result_count": len(tweets)}
        if self.rng.random() < 0.5:
            meta["next_token"] = "b26v89c19zqg8o3" + ids.short_code(self.rng, 30)
        return dumps({"data": tweets, "includes": {"users": list(included.values())}, "meta": meta})


def _display_url(url: str) -> str:
    bare = url.split("://", 1)[1]
    return bare if len(bare) <= 26 else bare[:25] + "…"


def write_x(writer: XWriter, drafts: list[Draft], users: dict[str, dict], bad: list[tuple[str, Draft]]) -> tuple[bytes, list[Malformed]]:
    """The posts.x.jsonl bytes and where its malformed records ended up.

    ``bad`` holds (kind, draft) for each broken record. A broken tweet goes into
    the response covering its draft's time, in time order; a broken line goes
    just before that response.
    """
    chunks = writer.responses(drafts)
    oldest = [datetime_of(tweets[-1]) for tweets in chunks]
    inserts: dict[int, list[tuple[str, Draft]]] = {}
    for kind, draft in bad:
        inserts.setdefault(max(bisect_right(oldest, draft.at) - 1, 0), []).append((kind, draft))
    lines: list[bytes] = []
    malformed: list[Malformed] = []
    for index, tweets in enumerate(chunks):
        items: list[tuple[int, str]] = []
        for kind, draft in inserts.get(index, ()):
            if kind in ITEM_BREAKERS:
                position = sum(datetime_of(t) > draft.at for t in tweets if "created_at" in t)
                tweets.insert(position, ITEM_BREAKERS[kind](writer, draft))
                items = [(p + (p >= position), k) for p, k in items] + [(position, kind)]
        good = writer.response_line(tweets, users)
        for kind, draft in inserts.get(index, ()):
            if kind in LINE_BREAKERS:
                lines.append(LINE_BREAKERS[kind](writer, good, draft, users))
                malformed.append(Malformed(writer.file, len(lines), None, REASONS[kind], WHAT[kind]))
        lines.append(good)
        malformed.extend(Malformed(writer.file, len(lines), p, REASONS[k], WHAT[k]) for p, k in sorted(items))
    return b"".join(line + b"\n" for line in lines), malformed


def datetime_of(tweet: dict) -> datetime:
    return ids.parse_iso(tweet["created_at"])


def _without_text(writer: XWriter, draft: Draft) -> dict:
    tweet = writer.tweet(draft)
    del tweet["text"]
    tweet.pop("entities", None)
    return tweet


def _bad_time(writer: XWriter, draft: Draft) -> dict:
    tweet = writer.tweet(draft)
    tweet["created_at"] = "yesterday"
    return tweet


def _wrong_type(writer: XWriter, draft: Draft) -> dict:
    tweet = writer.tweet(draft)
    tweet["public_metrics"] = dumps(tweet["public_metrics"]).decode()  # double-encoded: a string, not an object
    return tweet


def _oversize(writer: XWriter, draft: Draft) -> dict:
    paragraphs, text = texts.LONG_POST_PARAGRAPHS, ""
    while len(text) <= 25_000:
        text += paragraphs[len(text) % len(paragraphs)] + "\n\n"
    draft.text = text.strip()
    return writer.tweet(draft)


def _without_id(writer: XWriter, draft: Draft) -> dict:
    tweet = writer.tweet(draft)
    del tweet["id"]
    del tweet["edit_history_tweet_ids"]
    return tweet


def _truncated(writer: XWriter, good: bytes, draft: Draft, users: dict) -> bytes:
    return good[: int(len(good) * writer.rng.uniform(0.3, 0.7))]


def _latin1(writer: XWriter, good: bytes, draft: Draft, users: dict) -> bytes:
    tweets = []
    for offset, text in enumerate(SPANISH_LATIN1):
        copy = Draft(draft.at + timedelta(seconds=offset * 7), "cannot_join", text, "es", draft.author)
        writer.assign_ids([copy])
        tweets.append(writer.tweet(copy))
    return writer.response_line(tweets[::-1], users).decode().encode("latin-1")


def _error_response(writer: XWriter, good: bytes, draft: Draft, users: dict) -> bytes:
    return dumps({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})


ITEM_BREAKERS = {
    "missing_text": _without_text,
    "bad_time": _bad_time,
    "wrong_type": _wrong_type,
    "oversize": _oversize,
    "missing_id": _without_id,
}
LINE_BREAKERS = {"truncated": _truncated, "wrong_encoding": _latin1, "error_response": _error_response}
REASONS = {
    "missing_text": "missing_text",
    "bad_time": "bad_time",
    "wrong_type": "wrong_type",
    "oversize": "oversize",
    "missing_id": "missing_id",
    "truncated": "not_json",
    "wrong_encoding": "wrong_encoding",
    "error_response": "not_a_post",
    "missing_time": "missing_time",
    "empty_content": "missing_text",
}
WHAT = {
    "missing_text": "a tweet with no `text`",
    "bad_time": 'a tweet whose `created_at` is "yesterday"',
    "wrong_type": "a tweet whose `public_metrics` is a string (double-encoded JSON), not an object",
    "oversize": "a tweet whose text is over 25,000 characters (X's long-post limit)",
    "missing_id": "a tweet with no `id`",
    "truncated": "a response cut off mid-line (the complete response follows on the next line)",
    "wrong_encoding": "a response of three Spanish tweets written in Latin-1, not UTF-8 (its tweets are lost)",
    "error_response": "an API error response (HTTP 429 Too Many Requests), not a page of tweets",
}


# -- Bluesky Jetstream --------------------------------------------------------------


class JetstreamWriter:
    file = "posts.bluesky.jsonl"

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.clock = rng.randrange(1024)

    def assign_ids(self, drafts: list[Draft]) -> None:
        for draft in drafts:
            draft.id = ids.tid(ids.millis(draft.at) * 1000 + self.rng.randrange(1000), self.clock)
            draft.conversation = ids.cid(self.rng)  # the record's CID

    def post(self, draft: Draft) -> tuple[int, dict]:
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": ids.iso_ms(draft.at)}
        found = spans(draft.text)
        if found.urls and draft.category == "news":
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {"description": "", "title": draft.text.split(" http")[0][:120], "uri": found.urls[0][2]},
            }
        facets = _facets(draft.text, found)
        if facets:
            record["facets"] = facets
        record["langs"] = [draft.lang if draft.lang not in ("und", "qht") else "en"]
        if draft.kind == "reply":
            root = draft.parent
            while root.kind == "reply":
                root = root.parent
            record["reply"] = {"parent": _ref(draft.parent), "root": _ref(root)}
        record["text"] = draft.text
        return self._commit(draft.author.did, draft.at, "create", "app.bsky.feed.post", draft.id, record, draft.conversation)

    def _commit(self, did: str, at: datetime, op: str, collection: str, rkey: str, record: dict | None, cid: str | None) -> tuple[int, dict]:
        time_us = ids.millis(at) * 1000 + self.rng.randrange(50_000, 2_500_000)
        commit: dict[str, Any] = {"rev": ids.tid(time_us, self.clock), "operation": op, "collection": collection, "rkey": rkey}
        if record is not None:
            commit["record"] = record
            commit["cid"] = cid
        return time_us, {"did": did, "time_us": time_us, "kind": "commit", "commit": commit}

    def skipped(self, drafts: list[Draft], repos: list[Any], end: datetime) -> list[tuple[int, dict]]:
        """Well-formed events an ingester must skip: likes, reposts, follows, deletes, identity and account events."""
        rng, events = self.rng, []
        for draft in drafts:
            for collection, chance in (("app.bsky.feed.like", 0.2), ("app.bsky.feed.repost", 0.06)):
                if rng.random() < chance:
                    at = min(draft.at + timedelta(seconds=rng.randrange(5, 600)), end - timedelta(seconds=5))
                    rkey = ids.tid(ids.millis(at) * 1000, self.clock)
                    record = {"$type": collection, "createdAt": ids.iso_ms(at), "subject": _ref(draft)}
                    events.append(self._commit(rng.choice(repos).did, at, "create", collection, rkey, record, ids.cid(rng)))
        for draft in rng.sample(drafts, min(6, len(drafts) // 20)):
            at = min(draft.at + timedelta(seconds=rng.randrange(60, 1800)), end - timedelta(seconds=5))
            events.append(self._commit(draft.author.did, at, "delete", "app.bsky.feed.post", draft.id, None, None))
        start = drafts[0].at if drafts else end
        for repo in rng.sample(repos, 24):
            at = start + (end - start) * rng.random()
            events.append(self._identity_or_account(repo, at, len(events)))
        return events

    def _identity_or_account(self, repo: Any, at: datetime, seq: int) -> tuple[int, dict]:
        time_us = ids.millis(at) * 1000 + self.rng.randrange(1000)
        seq = 1_409_750_000 + seq * 37 + self.rng.randrange(30)
        if self.rng.random() < 0.6:
            body = {"did": repo.did, "handle": repo.handle, "seq": seq, "time": ids.iso_ms(at)}
            return time_us, {"did": repo.did, "time_us": time_us, "kind": "identity", "identity": body}
        active = self.rng.random() < 0.75
        body = {"active": active, "did": repo.did, "seq": seq, "time": ids.iso_ms(at)}
        if not active:
            body["status"] = "deactivated"
        return time_us, {"did": repo.did, "time_us": time_us, "kind": "account", "account": body}


def _ref(draft: Draft) -> dict[str, str]:
    return {"cid": draft.conversation, "uri": f"at://{draft.author.did}/app.bsky.feed.post/{draft.id}"}


def _facets(text: str, found: Any) -> list[dict]:
    facets = []
    for start, end, tag in found.hashtags:
        feature = {"$type": "app.bsky.richtext.facet#tag", "tag": tag}
        facets.append(_facet(text, start, end, feature))
    for start, end, url in found.urls:
        facets.append(_facet(text, start, end, {"$type": "app.bsky.richtext.facet#link", "uri": url}))
    return sorted(facets, key=lambda f: f["index"]["byteStart"])


def _facet(text: str, start: int, end: int, feature: dict) -> dict:
    """Facet indexes count UTF-8 bytes, not characters."""
    byte_start = len(text[:start].encode())
    byte_end = byte_start + len(text[start:end].encode())
    return {"$type": "app.bsky.richtext.facet", "features": [feature], "index": {"byteEnd": byte_end, "byteStart": byte_start}}


def write_jetstream(
    writer: JetstreamWriter, events: list[tuple[int, dict]], bad: list[tuple[str, tuple[int, dict]]]
) -> tuple[bytes, list[Malformed], int]:
    """The posts.bluesky.jsonl bytes, its malformed records, and the line where a reconnect replays events."""
    events = sorted(events, key=lambda e: e[0])
    seen: set[int] = set()
    for index, (time_us, event) in enumerate(events):
        while time_us in seen:
            time_us += 1
        seen.add(time_us)
        event["time_us"] = time_us
        events[index] = (time_us, event)
    breaks = {}
    for kind, (time_us, event) in bad:
        breaks.setdefault(bisect_left([e[0] for e in events], time_us), []).append((kind, event))
    lines: list[bytes] = []
    malformed: list[Malformed] = []
    replay_at = int(len(events) * 0.45)
    while any(i in breaks for i in range(replay_at - 5, replay_at + 1)):
        replay_at += 7
    replay_line = 0
    for index, (_, event) in enumerate(events):
        for kind, bad_event in breaks.get(index, ()):
            lines.append(_broken_event(writer, kind, bad_event, event))
            malformed.append(Malformed(writer.file, len(lines), None, REASONS[kind], BLUESKY_WHAT[kind]))
        if index == replay_at:
            replay_line = len(lines) + 1
            lines.extend(lines[-4:])  # a reconnect resumed from a cursor a little in the past
        lines.append(dumps(event))
    return b"".join(line + b"\n" for line in lines), malformed, replay_line


def _broken_event(writer: JetstreamWriter, kind: str, bad_event: dict, following: dict) -> bytes:
    if kind == "missing_time":
        del bad_event["commit"]["record"]["createdAt"]
        return dumps(bad_event)
    if kind == "truncated":
        good = dumps(following)
        return good[: int(len(good) * writer.rng.uniform(0.3, 0.7))]
    bad_event["commit"]["record"]["text"] = SPANISH_LATIN1[0]
    bad_event["commit"]["record"]["langs"] = ["es"]
    return dumps(bad_event).decode().encode("latin-1")


BLUESKY_WHAT = {
    "missing_time": "a post commit whose record has no `createdAt`",
    "truncated": "an event cut off mid-line (the complete event follows on the next line)",
    "wrong_encoding": "a post event written in Latin-1, not UTF-8",
}


# -- Mastodon --------------------------------------------------------------------


class MastodonWriter:
    file = "posts.mastodon.json"

    def __init__(self, rng: random.Random, home: str):
        self.rng = rng
        self.home = home

    def assign_ids(self, drafts: list[Draft]) -> None:
        for draft in drafts:
            draft.id = ids.mastodon_id(draft.at, self.rng)
            draft.conversation = ids.mastodon_id(draft.at, self.rng)  # the id on the author's own server
            if draft.kind == "reply":
                draft.text = f"@{draft.parent.author.username} {draft.text}"

    def status(self, draft: Draft) -> dict[str, Any]:
        if draft.kind == "repost":
            return self._reblog(draft)
        account = draft.author
        local = account.domain == self.home
        remote_id = draft.id if local else draft.conversation
        found = spans(draft.text)
        mentions = [draft.parent.author] if draft.kind == "reply" else []
        return {
            "id": draft.id,
            "created_at": ids.iso_ms(draft.at),
            "in_reply_to_id": draft.parent.id if draft.kind == "reply" else None,
            "in_reply_to_account_id": draft.parent.author.id if draft.kind == "reply" else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": draft.lang if draft.lang not in ("und", "qht") else None,
            "uri": f"https://{account.domain}/users/{account.username}/statuses/{remote_id}",
            "url": f"https://{account.domain}/@{account.username}/{remote_id}",
            "replies_count": draft.replies,
            "reblogs_count": draft.reposts,
            "favourites_count": draft.likes,
            "edited_at": None,
            "content": self.content(draft.text, found, mentions),
            "reblog": None,
            "account": account.as_json(draft.at),
            "media_attachments": [],
            "mentions": [{"id": m.id, "username": m.username, "url": m.url, "acct": m.acct} for m in mentions],
            "tags": [{"name": tag.lower(), "url": f"https://{self.home}/tags/{tag.lower()}"} for _, _, tag in found.hashtags],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _reblog(self, draft: Draft) -> dict[str, Any]:
        account = draft.author
        return {
            "id": draft.id,
            "created_at": ids.iso_ms(draft.at),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": None,
            "uri": f"https://{account.domain}/users/{account.username}/statuses/{draft.conversation}/activity",
            "url": None,
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "content": "",
            "reblog": self.status(draft.parent),
            "account": account.as_json(draft.at),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def content(self, text: str, found: Any, mentions: list[Any]) -> str:
        """Mastodon's HTML: escaped text in a paragraph, hashtags, mentions and links as anchors."""
        by_name = {m.username: m for m in mentions}
        pieces, cursor = [], 0
        marks = [(s, e, "tag", v) for s, e, v in found.hashtags]
        marks += [(s, e, "mention", v) for s, e, v in found.mentions if v in by_name]
        marks += [(s, e, "url", v) for s, e, v in found.urls]
        for start, end, kind, value in sorted(marks):
            pieces.append(_escape(text[cursor:start]))
            pieces.append(self._anchor(kind, value, by_name))
            cursor = end
        pieces.append(_escape(text[cursor:]))
        body = "".join(pieces).replace("\n", "<br>")
        return f"<p>{body}</p>"

    def _anchor(self, kind: str, value: str, by_name: dict[str, Any]) -> str:
        if kind == "tag":
            return f'<a href="https://{self.home}/tags/{value}" class="mention hashtag" rel="tag">#<span>{value}</span></a>'
        if kind == "mention":
            account = by_name[value]
            return f'<span class="h-card" translate="no"><a href="{account.url}" class="u-url mention">@<span>{value}</span></a></span>'
        bare = value.split("://", 1)[1]
        return (
            f'<a href="{html.escape(value)}" target="_blank" rel="nofollow noopener noreferrer" translate="no">'
            f'<span class="invisible">https://</span><span class="ellipsis">{html.escape(bare[:30])}</span>'
            f'<span class="invisible">{html.escape(bare[30:])}</span></a>'
        )


def _escape(text: str) -> str:
    """HTML-escape as Mastodon does: ``&#39;`` for an apostrophe."""
    return html.escape(text, quote=False).replace('"', "&quot;").replace("'", "&#39;")


def write_mastodon(writer: MastodonWriter, drafts: list[Draft], bad: list[tuple[str, Draft]]) -> tuple[bytes, list[Malformed], int]:
    """The posts.mastodon.json bytes (newest first), its malformed records, and how many statuses repeat."""
    statuses = [(d.at, d.id, writer.status(d), None) for d in drafts]
    for kind, draft in bad:
        statuses.append((draft.at, draft.id, _broken_status(writer, kind, draft), kind))
    statuses.sort(key=lambda s: (s[0], int(s[1])), reverse=True)
    elements, malformed = [], []
    margin = min(40, len(statuses) // 4)
    repeats = sorted(writer.rng.sample(range(margin, len(statuses) - margin), 2))
    for index, (_, _, status, kind) in enumerate(statuses):
        elements.append(dumps(status))
        if kind:
            malformed.append(Malformed(writer.file, len(elements), None, REASONS[kind], MASTODON_WHAT[kind]))
        if index in repeats:
            elements.append(dumps(status))  # paging overlap: the next page starts with the same status
    return b"[\n" + b",\n".join(elements) + b"\n]\n", malformed, len(repeats)


def _broken_status(writer: MastodonWriter, kind: str, draft: Draft) -> dict:
    status = writer.status(draft)
    if kind == "empty_content":
        status["content"] = ""
        status["tags"] = []
    elif kind == "bad_time":
        status["created_at"] = status["created_at"][:14] + "61" + status["created_at"][16:]
    else:
        status["favourites_count"] = "many"
    return status


MASTODON_WHAT = {
    "empty_content": 'a status (not a reblog, no media) whose `content` is ""',
    "bad_time": "a status whose `created_at` has minute 61",
    "wrong_type": 'a status whose `favourites_count` is "many"',
}
