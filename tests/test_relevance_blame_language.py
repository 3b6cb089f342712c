"""Relevance, blame and language heads, the incident profiles, robustness and the evaluation report."""

import json
from pathlib import Path

import pytest

from pipeline.classify.blame import BlameDetector, Entity
from pipeline.classify.encoder import clean_text
from pipeline.classify.evaluation import HeadSet, evaluate_heads, read_labelled
from pipeline.classify.language import detect_language, detect_languages
from pipeline.classify.taxonomy import TaxonomyError, load_profile
from pipeline.errors import InputError


@pytest.fixture(scope="session")
def spaces():
    return HeadSet(load_profile("spaces"))


@pytest.fixture(scope="session")
def blame():
    return BlameDetector(load_profile("spaces"))


def relevant(heads: HeadSet, texts: list[str]) -> list[bool]:
    return [result.relevance.relevant for result in heads.predict(texts)]


def test_relevance_separates_posts_about_the_outage_from_the_same_words_in_other_senses(spaces):
    on_topic = [
        "Can't get into the Trump Space, it just keeps spinning",
        "X Spaces audio keeps cutting out every few seconds",
        "Elon says the Space was hit by a massive DDoS attack",
        "Forty minutes late and the Space still hasn't started",
    ]
    off_topic = [
        "Two spaces after a period is a crime",
        "Took me half an hour to find a parking space at the mall",
        "SpaceX just caught the booster again, unreal",
        "Malcolm X's speeches still hit hard today",
        "Tabs versus spaces, round forty at work today",
    ]
    assert relevant(spaces, on_topic + off_topic) == [True] * 4 + [False] * 5


def test_a_post_that_is_not_relevant_gets_complaint_and_blame_none(spaces):
    [result] = spaces.predict(["My laptop crashed and I lost my whole essay, thanks Microsoft"])
    assert (result.relevance.relevant, result.complaint.label, result.blame.target) == (False, "none", "none")


def test_relevance_scores_lie_between_zero_and_one_and_an_empty_post_scores_zero(spaces):
    scores = [result.relevance.score for result in spaces.predict(["Spaces is down", "#SpacesDown lol", "parking"])]
    assert all(0.0 <= score <= 1.0 for score in scores)
    texts = ["", "ok"]
    assert spaces.relevance.score(spaces.encoder.encode(texts), texts)[0] == 0.0


def test_blame_follows_the_ddos_story_the_skeptics_elon_x_and_nobody(blame):
    posts = [
        "Massive DDoS attack on X right now, someone doesn't want this heard",
        "'DDoS attack' lmao sure",
        "There was no DDoS, Elon just fired everyone who knew how to scale it",
        "@elonmusk your app is broken again",
        "X is broken again, can't even load the Space",
        "Not X, it's Cloudflare having a bad night",
        "my Comcast internet picked tonight to die so I can't get into the space",
        "can't join the space, stuck on connecting",
        "Spaces is back and the audio is crystal clear",
    ]
    got = [(result.target, result.entity) for result in blame.predict(posts)]
    assert got == [
        ("attackers", "attackers"),
        ("none", None),
        ("person", "Elon Musk"),
        ("person", "Elon Musk"),
        ("company", "X"),
        ("third_party", "cloud provider"),
        ("third_party", "internet provider"),
        ("none", None),
        ("none", None),
    ]


def test_a_product_name_blames_the_company_only_next_to_a_blame_cue(blame):
    posts = ["The Twitch app froze mid-stream", "Twitch, fix your app, it froze mid-stream"]
    assert [result.target for result in blame.predict(posts)] == ["none", "company"]


def test_blame_returns_the_spacy_entities_with_offsets_into_the_cleaned_post(blame):
    [result] = blame.predict(["Elon Musk blamed Cloudflare for the outage"])
    assert Entity("Elon Musk", "PERSON", 0, 9) in result.entities
    assert all("Elon Musk blamed Cloudflare for the outage"[e.start:e.end] == e.text for e in result.entities)


def test_the_bank_profile_blames_its_own_people_and_companies():
    detector = BlameDetector(load_profile("bank_app"))
    posts = [
        "Marcus Delaney cut the support team and now nobody answers",
        "Harbourline app is broken again, fix it",
        "Hackers took down the bank's login system apparently",
        "Visa is down so my card keeps getting declined",
    ]
    assert [result.target for result in detector.predict(posts)] == ["person", "company", "attackers", "third_party"]


def test_language_marks_spanish_and_emoji_only_posts_and_keeps_short_english_english():
    texts = ["No puedo entrar al Space de Elon, no carga nada", "😂😂😂", "", "so is it starting today or", "Delay after delay"]
    assert [result.lang for result in detect_languages(texts)] == ["es", "und", "und", "en", "en"]


def test_non_english_posts_skip_the_english_heads(spaces):
    spanish, english = spaces.predict(["No puedo entrar al Space, no carga nada", "can't get into the space"])
    assert (spanish.language.lang, spanish.complaint, spanish.relevance, spanish.blame) == ("es", None, None, None)
    assert (english.language.is_english, english.complaint.label) == (True, "cannot_join")


ODD_POSTS = ["", "   ", "😂🔥💀", "\ud83d", "\ud83d can't join \udc00", "x" * 10_000, "lol " * 2_500,
             "<p>Spaces is down &amp; I can&#39;t join</p><br/>", "&#xd83d;", None]


def test_odd_posts_never_crash_and_get_defined_labels(spaces):
    results = spaces.predict([text if text is not None else "" for text in ODD_POSTS])
    for text, result in zip(ODD_POSTS, results):
        assert len(result.language.lang) in (2, 3), text
        if result.complaint is not None:
            assert result.complaint.label in spaces.taxonomy.outcomes
            assert 0.0 <= result.relevance.score <= 1.0
            assert result.blame.target in ("company", "person", "attackers", "third_party", "none")
    assert [r.language.lang for r in results[:4]] == ["und"] * 4
    assert results[7].complaint.label == "cannot_join"
    assert detect_language(None).lang == "und"


def test_clean_text_drops_surrogates_tags_entities_and_links_and_caps_the_length():
    assert clean_text("<b>Spaces</b> is down &amp; out \ud83d https://t.co/x") == "Spaces is down & out"
    assert len(clean_text("word " * 5_000)) == 2_000


def test_a_profile_naming_a_missing_taxonomy_is_one_clear_error(tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text("name: p\ndescription: d\ntaxonomy: nowhere.yaml\n")
    with pytest.raises(TaxonomyError, match=r"profile\.yaml: taxonomy 'nowhere\.yaml' not found"):
        load_profile(path)


def test_evaluate_heads_reports_macro_f1_per_head_with_per_label_scores_and_confusion(tmp_path, spaces):
    records = [
        {"text": "can't get into the space, stuck on connecting", "complaint": "cannot_join", "relevant": True, "blame": "none"},
        {"text": "Massive DDoS attack on X tonight", "complaint": "none", "relevant": True, "blame": "attackers"},
        {"text": "found a parking space right outside", "complaint": "none", "relevant": False, "blame": "none"},
        {"text": "No puedo entrar al Space", "complaint": "cannot_join", "relevant": True, "blame": "none", "lang": "es"},
    ]
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    report = evaluate_heads(path, spaces.taxonomy, spaces.profile, heads=spaces)
    assert (report.posts, report.english_posts, report.language_accuracy) == (4, 3, 1.0)
    assert {name: head.macro_f1 for name, head in report.heads.items()} == {"complaint": 1.0, "relevance": 1.0, "blame": 1.0}
    assert report.heads["complaint"].confusion[0] == [1, 0, 0, 0, 0, 0, 0]
    rendered = report.render()
    for line in ("complaint: macro-F1 1.000 over 3 posts", "relevance: macro-F1 1.000", "blame: macro-F1 1.000",
                 "confusion (rows: truth, columns: predicted)"):
        assert line in rendered


def test_a_malformed_evaluation_file_is_rejected_with_its_line_number(tmp_path):
    path = tmp_path / "eval.jsonl"
    path.write_text('{"text": "a", "complaint": "none", "relevant": true, "blame": "none"}\n{"text": "b"}\n')
    with pytest.raises(InputError, match=r"eval\.jsonl:2: missing complaint, relevant, blame"):
        read_labelled(path)
