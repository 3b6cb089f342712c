"""The taxonomy format and the complaint head, on the real sentence encoder (offline)."""

import json
import re
import shutil
from pathlib import Path

import pytest

from pipeline.classify.complaints import ComplaintClassifier
from pipeline.classify.encoder import Encoder
from pipeline.classify.evaluation import evaluate_heads
from pipeline.classify.taxonomy import TAXONOMY_DIR, TaxonomyError, load_taxonomy

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "taxonomy_tiny.yaml"
LIVE_AUDIO_TEST = DATA / "eval" / "live_audio_test.jsonl"

VALID = """\
name: tiny
version: 1
description: A test taxonomy.
labels:
  - name: slow
    description: It is slow.
    examples: [slow one, slow two, slow three, slow four, slow five]
"""


@pytest.fixture(scope="session")
def encoder():
    return Encoder()


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text)
    return path


def error_for(tmp_path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(TaxonomyError) as raised:
        load_taxonomy(path)
    return str(raised.value).replace(str(path), "FILE")


def test_a_label_with_fewer_than_five_examples_is_rejected_naming_the_file_and_the_label(tmp_path):
    text = VALID.replace("slow three, slow four, slow five", "slow three")
    assert error_for(tmp_path, text) == "FILE: label 'slow': examples: needs at least 5 examples, got 3"


def test_a_duplicate_label_is_rejected(tmp_path):
    text = VALID + "  - name: slow\n    description: Again.\n    examples: [a, b, c, d, e]\n"
    assert error_for(tmp_path, text) == "FILE: label 'slow': duplicate label name"


def test_a_regex_that_does_not_compile_is_rejected(tmp_path):
    message = error_for(tmp_path, VALID + "    patterns: ['(unclosed']\n")
    assert message.startswith("FILE: label 'slow': patterns: pattern '(unclosed' is not a valid regular expression")


def test_a_malformed_spacy_token_pattern_is_rejected(tmp_path):
    message = error_for(tmp_path, VALID + "    patterns: [[{LOWER: {IN: 5}}]]\n")
    assert message.startswith("FILE: label 'slow': patterns: pattern [{'LOWER': {'IN': 5}}] is not a valid spaCy token pattern")


def test_a_token_pattern_that_needs_the_tagger_is_rejected(tmp_path):
    message = error_for(tmp_path, VALID + "    patterns: [[{LEMMA: crash}]]\n")
    assert message == "FILE: label 'slow': patterns: pattern [{'LEMMA': 'crash'}] uses LEMMA; only lexical attributes work here"


def test_a_label_called_none_is_rejected_because_none_is_implicit(tmp_path):
    message = error_for(tmp_path, VALID.replace("name: slow", "name: none"))
    assert message == "FILE: label 'none': name: 'none' is implicit; list its posts under none_examples instead"


def test_an_unknown_field_and_a_file_that_is_not_yaml_are_rejected(tmp_path):
    assert error_for(tmp_path, VALID + "    colour: red\n") == "FILE: label 'slow': colour: Extra inputs are not permitted"
    assert error_for(tmp_path, "name: [unclosed\n").startswith("FILE: not valid YAML at line 2")


def test_a_missing_taxonomy_file_is_one_clear_error(tmp_path):
    with pytest.raises(TaxonomyError, match=r"nope\.yaml: cannot read"):
        load_taxonomy(tmp_path / "nope.yaml")


def test_the_version_is_the_name_and_a_hash_of_the_content_not_of_the_formatting(tmp_path):
    first = load_taxonomy(write(tmp_path, VALID)).version
    reformatted = load_taxonomy(write(tmp_path, "# a comment\n" + VALID)).version
    changed = load_taxonomy(write(tmp_path, VALID.replace("slow five", "slow 5"))).version
    assert re.fullmatch(r"tiny@[0-9a-f]{8}", first)
    assert (reformatted == first, changed == first) == (True, False)


def test_the_bundled_taxonomies_load_with_their_labels():
    live_audio, bank = load_taxonomy("live_audio"), load_taxonomy("bank_app")
    assert live_audio.outcomes == ["cannot_join", "audio_quality", "app_crash", "delay", "capacity", "errors", "none"]
    assert bank.outcomes == ["cannot_log_in", "payments_failed", "balance_wrong", "app_crash", "support_unreachable", "none"]
    assert all(8 <= len(label.examples) <= 15 for label in live_audio.labels)


def test_keywords_match_whole_words_and_token_patterns_match_on_the_tokenizer():
    matcher = load_taxonomy(TINY).matcher
    hits = matcher.evidence(["my order is an hour late", "wrong items in the bag", "coldplay tickets", "soggy fries"])
    assert hits.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]]


def test_a_tiny_taxonomy_classifies_obvious_posts_without_any_training(encoder):
    classifier = ComplaintClassifier(load_taxonomy(TINY), encoder)
    posts = [
        "It's been two hours and my delivery still hasn't shown up",
        "They forgot my drinks and gave me the wrong burger",
        "The pizza arrived freezing cold and soggy",
        "Trying the new Thai place tonight, excited",
    ]
    assert classifier.mode == "few-shot"
    assert [result.label for result in classifier.classify(posts)] == ["late_delivery", "wrong_order", "cold_food", "none"]


def test_the_bank_taxonomy_classifies_its_own_obvious_posts(encoder):
    classifier = ComplaintClassifier(load_taxonomy("bank_app"), encoder)
    posts = [
        "The banking app keeps rejecting my password, I can't sign in",
        "My card was declined at the till and the transfer to my landlord failed",
        "My balance shows zero, all my money has disappeared",
        "The app crashes the moment I open it",
        "I've been on hold with customer service for two hours",
        "Opened a new savings account today, easy process",
    ]
    expected = ["cannot_log_in", "payments_failed", "balance_wrong", "app_crash", "support_unreachable", "none"]
    assert [result.label for result in classifier.classify(posts)] == expected


def test_scores_cover_every_outcome_and_sum_to_one(encoder):
    classifier = ComplaintClassifier(load_taxonomy("live_audio"), encoder)
    [result] = classifier.classify(["stuck on connecting, can't get into the space"])
    assert list(result.scores) == classifier.taxonomy.outcomes
    assert (result.label, round(sum(result.scores.values()), 4)) == ("cannot_join", 1.0)
    assert result.score == result.scores["cannot_join"]


def test_the_live_audio_taxonomy_uses_its_trained_head_and_says_so(encoder):
    classifier = ComplaintClassifier(load_taxonomy("live_audio"), encoder)
    assert classifier.mode == "trained"
    assert re.fullmatch(r"complaints/live-audio@[0-9a-f]{8}/head@[0-9a-f]{8}", classifier.version)


def test_a_head_trained_for_another_version_of_the_taxonomy_is_ignored(tmp_path, encoder, caplog):
    shutil.copy(TAXONOMY_DIR / "live_audio.head.json", tmp_path / "live_audio.head.json")
    text = (TAXONOMY_DIR / "live_audio.yaml").read_text().replace("Tapped join like ten times", "Tapped join twenty times")
    (tmp_path / "live_audio.yaml").write_text(text)
    classifier = ComplaintClassifier(load_taxonomy(tmp_path / "live_audio.yaml"), encoder)
    assert (classifier.mode, classifier.version.endswith("/few-shot")) == ("few-shot", True)
    assert "using the few-shot mode" in caplog.text


def test_fit_saves_a_head_beside_the_taxonomy_that_the_next_classifier_loads(tmp_path, encoder):
    shutil.copy(TINY, tmp_path / "tiny.yaml")
    taxonomy = load_taxonomy(tmp_path / "tiny.yaml")
    records = [
        {"text": "two hours and no food, the courier is lost", "complaint": "late_delivery"},
        {"text": "where is my order, it said 20 minutes an hour ago", "complaint": "late_delivery"},
        {"text": "got chicken instead of tofu", "complaint": "wrong_order"},
        {"text": "my dessert is missing from the order", "complaint": "wrong_order"},
        {"text": "the noodles were stone cold", "complaint": "cold_food"},
        {"text": "coffee arrived lukewarm and spilled", "complaint": "cold_food"},
        {"text": "ordering pizza for the match tonight", "complaint": "none"},
        {"text": "love this app's new design", "complaint": "none"},
    ]
    report = ComplaintClassifier(taxonomy, encoder).fit(records)
    reloaded = ComplaintClassifier(taxonomy, encoder)
    assert (report.path, report.dev_posts, reloaded.mode) == (tmp_path / "tiny.head.json", 8, "trained")
    assert json.loads(report.path.read_text())["taxonomy"] == taxonomy.version
    assert reloaded.classify(["the soup came cold"])[0].label == "cold_food"


def test_a_post_without_text_or_marked_not_relevant_is_none_with_score_one(encoder):
    classifier = ComplaintClassifier(load_taxonomy("live_audio"), encoder)
    texts = ["", "\ud83d", "the app crashed again"]
    results = classifier.predict(encoder.encode(texts), texts, relevant=[True, True, False])
    assert [(result.label, result.score) for result in results] == [("none", 1.0)] * 3


@pytest.mark.skipif(not LIVE_AUDIO_TEST.is_file(), reason=f"{LIVE_AUDIO_TEST} is not there (hand-labelled test split)")
def test_the_live_audio_test_split_reaches_a_complaint_macro_f1_of_at_least_0_75(encoder):
    report = evaluate_heads(LIVE_AUDIO_TEST, "live_audio", "spaces")
    assert report.heads["complaint"].macro_f1 >= 0.75, report.render()
