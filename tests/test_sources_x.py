from datetime import datetime, timezone

import orjson

from conftest import tweet, write_lines, x_response
from pipeline.schema import Reason, Rejection
from pipeline.sources import Limits, XSource


def read(path, limits=None):
    return list(XSource(limits).read(path))


def test_a_search_page_gives_one_normalised_post_per_tweet_with_its_author(tmp_path):
    path = write_lines(tmp_path / "page.jsonl", x_response(tweet("1001"), tweet("1002", "It's back", lang="und")))
    first, second = read(path)
    assert first == {
        "source": "x",
        "native_id": "1001",
        "text": "Spaces is down again",
        "created_at": datetime(2024, 8, 13, 0, 5, tzinfo=timezone.utc),
        "author_id": "42",
        "author_handle": "ann",
        "author_name": "Ann Outage",
        "author_followers": 1200,
        "lang": "en",
        "like_count": 7,
        "repost_count": 2,
        "reply_count": 1,
        "quote_count": 0,
        "url": "https://x.com/ann/status/1001",
        "reply_to_id": None,
        "repost_of_id": None,
        "quote_of_id": None,
        "raw": orjson.dumps(tweet("1001")).decode(),
    }
    assert (second["native_id"], second["lang"]) == ("1002", "und")


def test_a_filtered_stream_line_with_one_tweet_object_is_read(tmp_path):
    response = x_response()
    response["data"] = tweet("7", "cannot join the space")
    (post,) = read(write_lines(tmp_path / "stream.jsonl", response))
    assert (post["native_id"], post["text"]) == ("7", "cannot join the space")


def test_a_file_holding_an_array_of_responses_is_read_element_by_element(tmp_path):
    path = tmp_path / "pages.json"
    path.write_bytes(orjson.dumps([x_response(tweet("1")), x_response(tweet("2"), tweet("3"))]))
    assert [post["native_id"] for post in read(path)] == ["1", "2", "3"]


def test_references_become_reply_repost_and_quote_ids(tmp_path):
    refs = [{"type": "replied_to", "id": "9"}, {"type": "quoted", "id": "8"}]
    (reply,) = read(write_lines(tmp_path / "r.jsonl", x_response(tweet("1", referenced_tweets=refs))))
    (repost,) = read(write_lines(tmp_path / "rt.jsonl", x_response(tweet("2", "RT @ann: down", referenced_tweets=[{"type": "retweeted", "id": "1"}]))))
    assert (reply["reply_to_id"], reply["quote_of_id"], repost["repost_of_id"]) == ("9", "8", "1")


def test_offset_timestamps_are_normalised_to_utc(tmp_path):
    (post,) = read(write_lines(tmp_path / "t.jsonl", x_response(tweet("1", created_at="2024-08-12T20:05:00-04:00"))))
    assert post["created_at"].astimezone(timezone.utc) == datetime(2024, 8, 13, 0, 5, tzinfo=timezone.utc)


def test_each_kind_of_bad_record_is_rejected_with_its_reason_and_position(tmp_path):
    path = write_lines(
        tmp_path / "bad.jsonl",
        b'{"data": [{"id": "1", "text": "trunc',
        b'{"data": [{"id": "2", "text": "caf\xe9 down", "created_at": "2024-08-13T00:05:00Z"}]}',
        x_response(tweet("3", text=None)),
        x_response(tweet("4", created_at="yesterday")),
        x_response(tweet("5", created_at=None)),
        x_response(tweet("6", public_metrics="many")),
        x_response(tweet("", "no id")),
        {"errors": [{"title": "Not Found Error"}]},
        x_response(tweet("9", text="x" * 30)),
    )
    results = read(path, Limits(max_text_chars=20))
    assert all(isinstance(result, Rejection) for result in results)
    assert [(r.position, r.item, r.reason) for r in results] == [
        (1, None, Reason.NOT_JSON),
        (2, None, Reason.WRONG_ENCODING),
        (3, 0, Reason.MISSING_TEXT),
        (4, 0, Reason.BAD_TIME),
        (5, 0, Reason.MISSING_TIME),
        (6, 0, Reason.WRONG_TYPE),
        (7, 0, Reason.MISSING_ID),
        (8, None, Reason.NOT_A_POST),
        (9, 0, Reason.OVERSIZE),
    ]
    assert results[5].detail == "unexpected shape: public_metrics is a string, expected an object"
    assert results[7].detail == 'a response without \'data\': {"errors":[{"title":"Not Found Error"}]}'
    assert results[1].raw == '{"data": [{"id": "2", "text": "caf\\xe9 down", "created_at": "2024-08-13T00:05:00Z"}]}'


def test_a_record_over_the_byte_limit_is_rejected_as_oversize_without_parsing(tmp_path):
    path = write_lines(tmp_path / "big.jsonl", x_response(tweet("1", "y" * 3000)))
    (result,) = read(path, Limits(max_record_bytes=1024))
    assert result.reason == Reason.OVERSIZE
    assert result.detail.startswith("record is 3,")


def test_a_utf8_byte_order_mark_and_blank_lines_are_tolerated(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(x_response(tweet("1"))) + b"\n\n   \n" + orjson.dumps(x_response(tweet("2"))) + b"\n")
    assert [post["native_id"] for post in read(path)] == ["1", "2"]
