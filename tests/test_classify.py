"""The classify stage end to end with the shipped models: real sentiment transformer,
real sentence encoder, real spaCy, real DuckDB file."""

import pytest

from conftest import ROOT, tweet, write_lines, x_response
from pipeline.classify.labeller import Labeller, classify_pending, pending_count
from pipeline.config import load_settings
from pipeline.ingest import ingest_file
from pipeline.sources import XSource

MODEL = ROOT / "models" / "sentiment-v1"

NEWS_QUOTES = {
    # "Broken" with no symptom named is `none` by the annotation guide; a symptom label is fine too.
    "Lmfao all of Spaces entirely broken": {"none", "cannot_join", "errors", "capacity", "app_crash"},
    "Elon is screwing trump with his crap spaces": None,
    "Spaces never works when it matters.": None,
    "I am having issues connecting to the X Spaces with Trump and Elon Musk": {"cannot_join"},
    "The #WarRoom on #Rumble is also having issues.": None,
}


@pytest.fixture(scope="module")
def labeller():
    return Labeller.load(load_settings(sentiment_model=str(MODEL)))


def test_every_post_is_labelled_once_and_a_second_run_finds_nothing_to_do(labeller, store, tmp_path):
    posts = [
        tweet("1", "cant join the space, stuck on connecting"),
        tweet("2", "No puedo entrar al Space de Elon, no carga nada"),
        tweet("3", "🔥🔥🔥"),
        tweet("4", ""),
    ]
    ingest_file(store, write_lines(tmp_path / "p.jsonl", x_response(*posts)), XSource())
    first = classify_pending(store, labeller, page_size=2)
    again = classify_pending(store, labeller)
    assert (first.labelled, again.labelled, pending_count(store, labeller.version)) == (3, 0, 0)
    rows = dict(store.query("SELECT post_id, language FROM post_labels"))
    assert rows["x:2"] == "es"
    assert store.query("SELECT is_english, sentiment FROM post_labels WHERE post_id = 'x:2'") == [(False, None)]
    english = store.query("SELECT sentiment, complaint_type FROM post_labels WHERE post_id = 'x:1'")[0]
    assert english == ("negative", "cannot_join")


def test_the_news_quoted_posts_are_negative_with_a_sensible_complaint(labeller):
    labels = labeller.label(list(NEWS_QUOTES))
    for (text, complaints), label in zip(NEWS_QUOTES.items(), labels):
        assert label.is_english, text
        assert label.sentiment == "negative", (text, label.probabilities)
        assert label.relevant, (text, label.relevance)
        if complaints:
            assert label.complaint_type in complaints, (text, label.complaint_type)


def test_off_topic_posts_that_share_the_words_are_not_relevant(labeller):
    off_topic = [
        "Tabs vs spaces debate again at work, I'm team spaces forever",
        "Finally found one of the last parking spaces downtown",
        "SpaceX just landed another booster, incredible engineering",
    ]
    assert [label.relevant for label in labeller.label(off_topic)] == [False, False, False]


def test_copies_of_a_text_are_classified_once_and_get_the_label_it_gets_alone(labeller, monkeypatch):
    texts = ["spaces wont load again", "Elon is screwing trump with his crap spaces", "spaces wont load again", "spaces wont load again"]
    alone = [labeller.label([text])[0] for text in dict.fromkeys(texts)]
    classified: list[list[str]] = []
    original = labeller._label_distinct
    monkeypatch.setattr(labeller, "_label_distinct", lambda batch: classified.append(list(batch)) or original(batch))

    labels = labeller.label(texts)

    assert classified == [["spaces wont load again", "Elon is screwing trump with his crap spaces"]]
    assert labels == [alone[0], alone[1], alone[0], alone[0]]
