from datetime import datetime, timezone

import orjson
import pytest

from conftest import write_lines
from pipeline.schema import Reason, Rejection
from pipeline.sources import Limits
from pipeline.sources.mastodon import MastodonSource, html_to_text

ANN = {
    "id": "109348",
    "username": "ann",
    "acct": "ann",
    "display_name": "Ann Outage",
    "url": "https://mastodon.social/@ann",
    "uri": "https://mastodon.social/users/ann",
    "followers_count": 1200,
}
BOB = {**ANN, "id": "2201", "username": "bob", "acct": "bob@fosstodon.org", "display_name": "Bob", "url": "https://fosstodon.org/@bob"}
del BOB["uri"]


def status(id: str = "112950021", content: str = "<p>Spaces is down again</p>", **extra) -> dict:
    return {
        "id": id,
        "created_at": "2024-08-13T00:05:00.000Z",
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://mastodon.social/users/ann/statuses/{id}",
        "url": f"https://mastodon.social/@ann/{id}",
        "replies_count": 1,
        "reblogs_count": 2,
        "favourites_count": 7,
        "content": content,
        "reblog": None,
        "account": ANN,
        "media_attachments": [],
        **extra,
    }


def write_array(path, *statuses):
    path.write_bytes(orjson.dumps(list(statuses)))
    return path


def read(path, limits=None):
    return list(MastodonSource(limits).read(path))


def test_a_status_becomes_one_normalised_post_keyed_by_its_uri(tmp_path):
    (post,) = read(write_array(tmp_path / "timeline.json", status()))
    assert post == {
        "source": "mastodon",
        "native_id": "https://mastodon.social/users/ann/statuses/112950021",
        "text": "Spaces is down again",
        "created_at": datetime(2024, 8, 13, 0, 5, tzinfo=timezone.utc),
        "author_id": "https://mastodon.social/users/ann",
        "author_handle": "ann@mastodon.social",
        "author_name": "Ann Outage",
        "author_followers": 1200,
        "lang": "en",
        "url": "https://mastodon.social/@ann/112950021",
        "reply_to_id": None,
        "repost_of_id": None,
        "quote_of_id": None,
        "like_count": 7,
        "repost_count": 2,
        "reply_count": 1,
        "quote_count": None,
        "raw": orjson.dumps(status()).decode(),
    }


def test_the_same_local_id_on_two_servers_gives_two_posts_not_one(tmp_path):
    remote = status(uri="https://fosstodon.org/users/bob/statuses/99", account=BOB, content="<p>cannot join</p>")
    posts = read(write_array(tmp_path / "timeline.json", status(), {**remote, "id": "112950021"}))
    assert [(post["native_id"], post["author_id"], post["author_handle"]) for post in posts] == [
        ("https://mastodon.social/users/ann/statuses/112950021", "https://mastodon.social/users/ann", "ann@mastodon.social"),
        ("https://fosstodon.org/users/bob/statuses/99", "https://fosstodon.org/@bob", "bob@fosstodon.org"),
    ]


@pytest.mark.parametrize(
    "html, text",
    [
        ("<p>Line one<br />line two</p><p>Second &amp; last &#39;para&#39;</p>", "Line one\nline two\n\nSecond & last 'para'"),
        (
            '<p>see <a href="https://status.x.com/i/1"><span class="invisible">https://</span>'
            '<span class="ellipsis">status.x.com/</span><span class="invisible">i/1</span></a> '
            '<span class="h-card"><a href="https://mastodon.social/@ann" class="u-url mention">@<span>ann</span></a></span> '
            '<a href="https://mastodon.social/tags/down" class="mention hashtag" rel="tag">#<span>down</span></a></p>',
            "see https://status.x.com/i/1 @ann #down",
        ),
        ("plain &lt;3 text<br>from a Pleroma server", "plain <3 text\nfrom a Pleroma server"),
        ("<p></p>", ""),
    ],
)
def test_content_html_becomes_the_text_the_author_typed(html, text):
    assert html_to_text(html) == text


def test_a_content_warning_comes_before_the_content(tmp_path):
    (post,) = read(write_array(tmp_path / "t.json", status(spoiler_text="outage rant")))
    assert post["text"] == "outage rant\n\nSpaces is down again"


def test_a_reblog_is_a_repost_with_the_reblogged_text_and_the_rebloggers_name(tmp_path):
    original = status("99", "<p>Spaces crashed mid-speech</p>", account=BOB, uri="https://fosstodon.org/users/bob/statuses/5", language="de")
    reblog = status("112950077", "", reblog=original, language=None, url=None, uri="https://mastodon.social/users/ann/statuses/112950077/activity")
    (post,) = read(write_array(tmp_path / "t.json", reblog))
    assert (post["native_id"], post["text"], post["lang"], post["author_handle"], post["repost_of_id"]) == (
        "https://mastodon.social/users/ann/statuses/112950077/activity",
        "Spaces crashed mid-speech",
        "de",
        "ann@mastodon.social",
        "https://fosstodon.org/users/bob/statuses/5",
    )


def test_a_reply_keeps_the_parents_id_and_a_quote_the_quoted_uri(tmp_path):
    quoted = status("42", uri="https://hachyderm.io/users/cy/statuses/42")
    path = write_lines(
        tmp_path / "stream.jsonl",
        status("1", in_reply_to_id="112949999"),
        status("2", quote={"state": "accepted", "quoted_status": quoted}),
        status("3", quote={"state": "deleted", "quoted_status": None}),
    )
    assert [(post["reply_to_id"], post["quote_of_id"]) for post in read(path)] == [
        ("112949999", None),
        (None, "https://hachyderm.io/users/cy/statuses/42"),
        (None, None),
    ]


def test_each_kind_of_bad_status_is_rejected_with_its_reason_and_position(tmp_path):
    path = write_lines(
        tmp_path / "stream.jsonl",
        orjson.dumps(status())[:70],
        orjson.dumps(status("2", "<p>caf\u00e9 ca\u00eddo</p>")).decode().encode("latin-1"),
        status("3", "<p> <br> </p>"),
        status("4", created_at="2024-08-13T00:61:00.000Z"),
        status("5", created_at=None),
        status("6", favourites_count="many"),
        status("7", content=["<p>a list</p>"]),
        status("8", uri=None),
        {"error": "Record not found"},
        status("10", "<p>" + "x" * 30 + "</p>"),
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
        (7, Reason.WRONG_TYPE),
        (8, Reason.MISSING_ID),
        (9, Reason.NOT_A_POST),
        (10, Reason.OVERSIZE),
    ]
    assert results[8].detail == 'an error response: "Record not found"'


def test_a_status_over_the_byte_limit_is_rejected_as_oversize(tmp_path):
    (result,) = read(write_array(tmp_path / "big.json", status(content="<p>" + "y" * 3000 + "</p>")), Limits(max_record_bytes=1024))
    assert (result.position, result.reason) == (1, Reason.OVERSIZE)
