from datetime import datetime, timezone

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import write_lines
from pipeline.errors import ConfigError, MappingError
from pipeline.schema import Reason, Rejection
from pipeline.sources import Limits
from pipeline.sources.table import TableSource, utc_time

MAPPING = {"native_id": "tweet_id", "text": "body", "created_at": "timestamp", "author_handle": "user"}
HEADER = "tweet_id,body,timestamp,user,likes\n"
UTC = timezone.utc


def write_text(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def read(path, mapping=MAPPING, limits=None, **options):
    return list(TableSource(mapping, limits, **options).read(path))


def test_a_csv_row_becomes_one_normalised_post_through_the_mapping(tmp_path):
    path = write_text(tmp_path / "export.csv", HEADER + '1001,"Spaces is down, again",2024-08-13T00:05:00Z,ann,7\n')
    (post,) = read(path, {**MAPPING, "like_count": "likes"})
    assert post == {
        "source": "table",
        "native_id": "1001",
        "text": "Spaces is down, again",
        "created_at": datetime(2024, 8, 13, 0, 5, tzinfo=UTC),
        "author_id": None,
        "author_handle": "ann",
        "author_name": None,
        "author_followers": None,
        "lang": None,
        "url": None,
        "reply_to_id": None,
        "repost_of_id": None,
        "quote_of_id": None,
        "like_count": 7,
        "repost_count": None,
        "reply_count": None,
        "quote_count": None,
        "raw": '{"tweet_id":"1001","body":"Spaces is down, again","timestamp":"2024-08-13T00:05:00Z","user":"ann","likes":"7"}',
    }


def test_columns_named_like_post_fields_need_no_mapping_and_tsv_is_read_by_extension(tmp_path):
    path = write_text(tmp_path / "export.tsv", "native_id\ttext\tcreated_at\tlang\nr1\tapp down\t2024-08-13 00:05:00\t\n")
    (post,) = read(path, {})
    assert (post["native_id"], post["text"], post["created_at"], post["lang"]) == ("r1", "app down", datetime(2024, 8, 13, 0, 5, tzinfo=UTC), None)


def test_a_mapping_that_names_absent_columns_fails_before_any_row_with_the_files_columns(tmp_path):
    path = write_text(tmp_path / "export.csv", "id,content,ts\n1,down,2024-08-13T00:05:00Z\n")
    with pytest.raises(MappingError) as error:
        next(TableSource({"text": "body"}).read(path))
    assert str(error.value) == (
        "export.csv: the mapping names columns it does not have (text=body) and no column gives native_id, created_at. "
        "Its columns are: id, content, ts. Map a field to a column as FIELD=COLUMN, e.g. text=body."
    )


def test_a_mapping_that_names_an_unknown_post_field_is_refused_at_once():
    with pytest.raises(MappingError, match="unknown post fields: body, source; the fields are: native_id, text, created_at, author_id"):
        TableSource({"body": "text", "source": "platform"})


@pytest.mark.parametrize(
    "value, moment",
    [
        ("2024-08-12T20:05:00-04:00", datetime(2024, 8, 13, 0, 5, tzinfo=UTC)),
        ("2024-08-13T00:05:00.250Z", datetime(2024, 8, 13, 0, 5, 0, 250000, tzinfo=UTC)),
        ("2024-08-13 00:05:00", datetime(2024, 8, 13, 0, 5, tzinfo=UTC)),
        (1723507500, datetime(2024, 8, 13, 0, 5, tzinfo=UTC)),
        ("1723507500.5", datetime(2024, 8, 13, 0, 5, 0, 500000, tzinfo=UTC)),
        (1723507500123, datetime(2024, 8, 13, 0, 5, 0, 123000, tzinfo=UTC)),
        (1723507500123456, datetime(2024, 8, 13, 0, 5, 0, 123456, tzinfo=UTC)),
        (datetime(2024, 8, 13, 0, 5), datetime(2024, 8, 13, 0, 5, tzinfo=UTC)),
        ("yesterday", "yesterday"),
    ],
)
def test_times_with_an_offset_unix_numbers_and_naive_times_are_read_as_utc(value, moment):
    assert utc_time(value) == moment


def test_each_kind_of_bad_csv_row_is_rejected_with_its_data_row_number(tmp_path):
    rows = [
        b"1,fine,2024-08-13T00:05:00Z,ann,7",
        b"2,too few fields,2024-08-13T00:05:00Z",
        b"3,caf\xe9 down,2024-08-13T00:05:00Z,ann,7",
        b"4,,2024-08-13T00:05:00Z,ann,7",
        b"",
        b"5,down,13/08/2024 00:05,ann,7",
        b"6,down,,ann,7",
        b"7,down,2024-08-13T00:05:00Z,ann,many",
        b",down,2024-08-13T00:05:00Z,ann,7",
        b'9,"two\nlines",2024-08-13T00:05:00Z,ann,7',
        b"10," + b"x" * 30 + b",2024-08-13T00:05:00Z,ann,7",
        b"11,short,2024-08-13T00:05:00Z," + b"u" * 300 + b",7",
    ]
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER.encode() + b"\n".join(rows) + b"\n")
    results = read(path, {**MAPPING, "like_count": "likes"}, Limits(max_record_bytes=256, max_text_chars=20))
    assert [(r.position, r.reason) if isinstance(r, Rejection) else (r["native_id"], r["text"]) for r in results] == [
        ("1", "fine"),
        (2, Reason.WRONG_TYPE),
        (3, Reason.WRONG_ENCODING),
        (4, Reason.MISSING_TEXT),
        (5, Reason.BAD_TIME),
        (6, Reason.MISSING_TIME),
        (7, Reason.WRONG_TYPE),
        (8, Reason.MISSING_ID),
        ("9", "two\nlines"),
        (10, Reason.OVERSIZE),
        (11, Reason.OVERSIZE),
    ]
    assert (results[1].detail, results[1].raw) == ("the row has 3 fields, the header 5", '["2","too few fields","2024-08-13T00:05:00Z"]')
    assert results[2].raw == '["3","caf\\\\xe9 down","2024-08-13T00:05:00Z","ann","7"]'


def test_json_lines_rows_keep_their_line_numbers_and_integer_ids_become_text(tmp_path):
    path = write_lines(
        tmp_path / "export.ndjson",
        {"tweet_id": 1001, "body": "down", "timestamp": 1723507500, "user": "ann", "score": 3},
        b'{"tweet_id": 1002, "body": "trunc',
        b"",
        [1003, "down"],
        {"tweet_id": 1004, "body": "back", "timestamp": "2024-08-13T00:09:00+00:00", "user": None},
    )
    results = read(path)
    assert [(r.position, r.reason) if isinstance(r, Rejection) else (r["native_id"], r["created_at"], r["author_handle"]) for r in results] == [
        ("1001", datetime(2024, 8, 13, 0, 5, tzinfo=UTC), "ann"),
        (2, Reason.NOT_JSON),
        (4, Reason.NOT_A_POST),
        ("1004", datetime(2024, 8, 13, 0, 9, tzinfo=UTC), None),
    ]
    assert results[0]["raw"] == '{"tweet_id":1001,"body":"down","timestamp":1723507500,"user":"ann","score":3}'


def test_a_json_array_of_rows_is_read_element_by_element_under_a_source_label(tmp_path):
    path = tmp_path / "reddit.json"
    rows = [{"id": "t3_a", "title": "down?", "created_utc": 1723507500.0}, {"id": "t3_b", "title": "", "created_utc": 1723507560.0}]
    path.write_bytes(orjson.dumps(rows))
    results = read(path, {"native_id": "id", "text": "title", "created_at": "created_utc"}, source="reddit")
    assert [(r["source"], r["native_id"]) if isinstance(r, dict) else (r.position, r.reason) for r in results] == [
        ("reddit", "t3_a"),
        (2, Reason.MISSING_TEXT),
    ]
    assert TableSource({}, source="reddit").name == "reddit"


def test_a_source_label_that_would_break_post_ids_is_refused():
    with pytest.raises(ConfigError, match="source label 'red:dit'"):
        TableSource({}, source="red:dit")


def test_parquet_rows_are_read_in_batches_with_their_native_types(tmp_path):
    table = pa.table(
        {
            "tweet_id": pa.array([1001, 1002], pa.int64()),
            "body": ["Spaces is down", None],
            "timestamp": pa.array([datetime(2024, 8, 13, 0, 5), datetime(2024, 8, 13, 0, 6)], pa.timestamp("ns")),
            "user": ["ann", "bob"],
            "followers": pa.array([1200.0, None], pa.float64()),
        }
    )
    path = tmp_path / "export.parquet"
    pq.write_table(table, path)
    good, missing = read(path, {**MAPPING, "author_followers": "followers"})
    assert (good["native_id"], good["text"], good["created_at"], good["author_handle"], good["author_followers"]) == (
        "1001",
        "Spaces is down",
        datetime(2024, 8, 13, 0, 5, tzinfo=UTC),
        "ann",
        1200,
    )
    assert good["raw"] == '{"tweet_id":1001,"body":"Spaces is down","timestamp":"2024-08-13T00:05:00","user":"ann","followers":1200.0}'
    assert (missing.position, missing.reason) == (2, Reason.MISSING_TEXT)


def test_a_parquet_mapping_is_checked_against_the_schema(tmp_path):
    path = tmp_path / "export.parquet"
    pq.write_table(pa.table({"id": ["1"], "text": ["x"]}), path)
    with pytest.raises(MappingError, match=r"no column gives created_at\. Its columns are: id, text\."):
        TableSource({"native_id": "id"}).columns_for(path)
