"""docs/schema.md: generated from the migrations, complete, current, and its examples run."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from pipeline import align
from pipeline.schema_doc import COMMAND, EXAMPLES, SCHEMA_DOC, Relation, relations, render
from pipeline.sql import Session
from pipeline.store import Store


@pytest.fixture(scope="module")
def schema() -> dict[str, Relation]:
    return {relation.name: relation for relation in relations()}


def column(relation: Relation, name: str):
    return next(column for column in relation.columns if column.name == name)


def test_the_committed_schema_reference_is_what_the_code_generates():
    committed, generated = SCHEMA_DOC.read_text(), render()
    if committed != generated:
        diff = "".join(list(difflib.unified_diff(committed.splitlines(True), generated.splitlines(True), "committed", "generated"))[:60])
        pytest.fail(f"docs/schema.md is stale: regenerate it with `{COMMAND}` and commit it.\n{diff}")


def test_the_reference_has_every_table_and_view_of_a_freshly_migrated_database(schema, tmp_path):
    with Store.open(tmp_path / "g.duckdb") as store:
        tables = {name for (name,) in store.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}
        columns = store.query("SELECT table_name, count(*) FROM information_schema.columns WHERE table_schema = 'main' GROUP BY ALL")
    assert set(schema) == tables
    assert {name: len(relation.columns) for name, relation in schema.items()} == dict(columns)
    assert {"posts", "post_labels", "posts_aligned", "incident_minutes", "incident_summary", "alerts"} <= tables


def test_every_relation_and_column_has_a_meaning(schema):
    undescribed = [name for name, relation in schema.items() if not relation.description]
    unexplained = [f"{name}.{column.name}" for name, relation in schema.items() for column in relation.columns if not column.meaning]
    assert not undescribed and not unexplained, (
        f"no description for {undescribed}, no meaning for {unexplained}: add a `-- comment` in the migration "
        "(pipeline/store.py) or an entry to DESCRIPTIONS / MEANINGS in pipeline/schema_doc.py"
    )


def test_meanings_come_from_the_comments_in_the_migrations(schema):
    assert column(schema["posts"], "id").meaning == "'<source>:<native_id>'"
    assert column(schema["post_labels"], "sentiment").meaning == "negative | neutral | positive (NULL when not English)"
    assert schema["posts_aligned"].kind == "view"
    assert column(schema["posts_aligned"], "text").meaning == "plain text (HTML stripped)"  # a view column, from its table
    assert schema["post_labels_latest"].description.startswith("The newest label of each post")  # the comment above its CREATE


def test_types_and_keys_are_the_databases(schema):
    assert (column(schema["posts"], "created_at").type, column(schema["posts"], "created_at").not_null) == ("TIMESTAMP WITH TIME ZONE", True)
    assert [c.name for c in schema["post_labels"].columns if c.primary_key] == ["post_id", "model_version"]
    assert column(schema["post_labels"], "complaint_scores").type == "MAP(VARCHAR, DOUBLE)"


def test_the_document_escapes_the_pipes_in_meanings():
    assert "| `source` | VARCHAR, not null | x \\| bluesky \\| mastodon \\| table |" in render()


@pytest.fixture(scope="module")
def aligned_sample(labelled_sample_db, tmp_path_factory) -> Path:
    path = Path(shutil.copy(labelled_sample_db, tmp_path_factory.mktemp("aligned") / "groundswell.duckdb"))
    with Store.open(path) as store:
        align.refresh(store)
    return path


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.question for example in EXAMPLES])
def test_each_example_query_runs_read_only_on_the_labelled_sample(example, aligned_sample, tmp_path):
    (result,) = Session(aligned_sample, tmp_path / "exports").run(example.sql)
    if "FROM alerts" not in example.sql:  # the sample database has no detector run in it
        assert result.table.num_rows > 0, f"{example.question!r} returned no rows on the sample"


def test_the_first_question_is_answered_for_the_2024_outage(aligned_sample, tmp_path):
    (result,) = Session(aligned_sample, tmp_path / "exports").run(EXAMPLES[0].sql)
    rows = {row["incident_id"]: row for row in result.table.to_pylist()}
    outage = rows["spaces-2024-08-12"]
    assert outage["first_internal_signal"] is not None and outage["first_social_spike"] is not None
    assert outage["social_lead_minutes"] == (outage["first_internal_signal"] - outage["first_social_spike"]).total_seconds() / 60
