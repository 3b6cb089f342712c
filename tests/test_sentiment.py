"""The sentiment model: the shipped artifact, its preprocessing, the data readers and the evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.classify.sentiment import SentimentModel, label_order
from pipeline.classify.training import EvaluationReport, evaluate_sentiment
from pipeline.classify.tweets import build_training_set, match_key, preprocess, read_semeval_file
from pipeline.errors import ConfigError

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "sentiment-v1"


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load(MODEL_DIR)


def test_loaded_model_has_negative_neutral_positive_labels_and_its_version(model):
    assert model.labels == ("negative", "neutral", "positive")
    assert model.version == "sentiment-v1"
    assert json.loads((MODEL_DIR / "config.json").read_text())["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}


def test_probabilities_have_one_row_per_post_and_sum_to_one(model):
    probabilities = model.predict(["the app crashed again", "Spaces is live now", "thanks for fixing it so fast!"])
    assert probabilities.shape == (3, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


CLEAR = {
    "This is the worst app ever, it keeps crashing and I hate it": "negative",
    "Spaces is completely broken again, absolutely useless and so frustrating": "negative",
    "Terrible service, I am so angry right now": "negative",
    "I love this so much, best day ever! :)": "positive",
    "Thank you so much, the new update is amazing and works great": "positive",
    "Congratulations to the team, what a fantastic show tonight!": "positive",
}
"""Tweets whose sentiment no reader would dispute (the int8 tests hold the ONNX path to them too)."""


def test_clearly_negative_and_positive_tweets_get_their_label(model):
    posts = CLEAR
    assert model.label_of(model.predict(list(posts))) == list(posts.values())


def test_empty_emoji_only_very_long_and_broken_texts_do_not_crash(model):
    posts = ["", "   ", "😡😡😡", "🙂", "spaces down " * 420, "lone \ud83d surrogate", "\udfff", b"\xff\xfe not utf-8", None]
    probabilities = model.predict(posts, batch_size=4)
    assert probabilities.shape == (len(posts), 3)
    assert np.isfinite(probabilities).all()
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_no_posts_give_an_empty_array(model):
    assert model.predict([]).shape == (0, 3)


def test_predict_can_return_the_mean_pooled_embeddings_of_the_same_pass(model):
    probabilities, embeddings = model.predict(["X Spaces is down", ""], return_embeddings=True)
    assert probabilities.shape == (2, 3)
    assert embeddings.shape == (2, 384)
    assert np.allclose(probabilities, model.predict(["X Spaces is down", ""]), atol=1e-6)


def test_preprocess_writes_mentions_as_user_and_links_as_http():
    assert preprocess("@elonmusk's  Spaces\tdown https://t.co/abc?x=1 see www.x.com &amp; mail a@b.com 😡") == (
        "@user Spaces down http see http & mail a@b.com 😡"
    )
    assert preprocess("It\\u2019s over @ X \ud83d") == "It’s over @ X"
    assert preprocess(None) == ""


def test_semeval_reader_decodes_escapes_repairs_extra_tabs_and_skips_bad_labels(tmp_path):
    path = tmp_path / "twitter-test-A.tsv"
    path.write_text(
        "1\tpositive\tI\\u2019m going\\u002c yay\n"
        '2\tneutral\t"He said ""hi"" today"\t\n'
        "3\tnegative\tso sad\tWed Jul 29 12:01:22 +0000 2015\n"
        "4\tpositive\tpart one\tpart two\n"
        "5\tobjective\tnot a class\n"
        "6\tpositive\n"
        '7\tneutral\t"Why is \\""""Happy Day\\"""" trending?"\n'
    )
    rows, report = read_semeval_file(path)
    assert rows == [
        ("positive", "I’m going, yay"),
        ("neutral", 'He said "hi" today'),
        ("negative", "so sad"),
        ("positive", "part one part two"),
        ("neutral", 'Why is "Happy Day" trending?'),
    ]
    assert (report.rows, report.kept) == (7, 5)
    assert dict(report.skipped) == {"label outside negative/neutral/positive": 1, "fewer than 3 tab-separated fields": 1}
    assert dict(report.notes) == {"extra field with a timestamp, dropped": 1, "extra field joined to the text": 1}


def test_validation_tweets_are_removed_from_training_after_normalisation(tmp_path):
    (tmp_path / "a.tsv").write_text(
        "1\tpositive\t@bob Great game tonight! http://t.co/x\n"
        "2\tnegative\tI\\u2019m so tired of this\n"
        "3\tneutral\tMeeting on Monday\n"
        "4\tneutral\tMeeting  on Monday\n"
    )
    validation = ['@user great game tonight!" ', "I\\u2019m so tired of this "]
    training = build_training_set(tmp_path, validation, files=["a.tsv"])
    assert training.texts == ["Meeting on Monday"]
    assert training.labels == [1]
    assert (training.removed_validation, training.duplicates) == (2, 1)
    assert match_key("@user great game tonight!") == match_key("@bob Great game tonight! http://t.co/x")


def test_evaluate_sentiment_reports_the_exact_macro_recall(tmp_path):
    texts = tmp_path / "text.txt"
    labels = tmp_path / "labels.txt"
    texts.write_text(
        "I hate this, worst service ever and it keeps crashing\n"
        "The schedule for the conference will be published on Monday.\n"
        "I love this, best day ever! :)\n"
        "Thank you so much, this is amazing!\n"
    )
    labels.write_text("0\n1\n2\n0\n")  # the last one is deliberately wrong: recall 1/2, 1, 1
    report = evaluate_sentiment(MODEL_DIR, texts, labels)
    assert report.predicted == [0, 1, 2, 2]
    assert report.macro_recall == pytest.approx(2.5 / 3)
    assert report.confusion == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert "macro-averaged recall: 0.8333" in report.render()


def test_evaluation_report_renders_per_class_scores_and_the_confusion_matrix():
    report = EvaluationReport(truth=[0, 0, 1, 2], predicted=[0, 1, 1, 2])
    assert report.render() == "\n".join(
        [
            "posts: 4",
            "macro-averaged recall: 0.8333",
            "accuracy: 0.7500",
            "",
            "class      precision    recall        f1   support",
            "negative      1.0000    0.5000    0.6667         2",
            "neutral       0.5000    1.0000    0.6667         1",
            "positive      1.0000    1.0000    1.0000         1",
            "",
            "confusion matrix (rows: true, columns: predicted)",
            "            negative   neutral  positive",
            "negative           1         1         0",
            "neutral            0         1         0",
            "positive           0         0         1",
        ]
    )


def test_label_order_maps_common_names_and_rejects_foreign_labels():
    assert label_order({0: "NEGATIVE", 1: "NEUTRAL", 2: "POSITIVE"}) == [0, 1, 2]
    assert label_order({0: "positive", 1: "negative", 2: "neutral"}) == [1, 2, 0]
    assert label_order({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}) == [0, 1, 2]
    with pytest.raises(ConfigError, match="needs negative, neutral and positive"):
        label_order({0: "NEGATIVE", 1: "POSITIVE"})
    with pytest.raises(ConfigError, match="1 star"):
        label_order({0: "1 star", 1: "2 stars", 2: "3 stars"})


def test_a_missing_model_folder_raises_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        SentimentModel.load(tmp_path / "no-such-model")


def test_a_corrupt_model_folder_raises_config_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot load sentiment model"):
        SentimentModel.load(tmp_path)


def test_the_artifact_describes_itself():
    metadata = json.loads((MODEL_DIR / "groundswell.json").read_text())
    assert (metadata["version"], metadata["labels"]) == ("v1", ["negative", "neutral", "positive"])
    assert len(metadata["logit_offsets"]) == 3
    card = (MODEL_DIR / "MODEL_CARD.md").read_text()
    assert f"**{metadata['validation']['macro_recall']:.4f}**" in card
    assert sum(path.stat().st_size for path in MODEL_DIR.parent.rglob("*") if path.is_file()) < 100_000_000  # all of models/
