"""Language of a post (ISO 639-1), so that only English posts reach the English-only heads.

py3langid (its model ships in the wheel) reads the post after links, @mentions,
#hashtags, emoji and digits are removed. A post with fewer than two letters left is
``und``. Short posts fool character n-grams ("so is it starting today or", "parking"), so
a post is English when most of its words are common English words, when English is
close behind the top guess, or when the guess is unsure and the post is plain ASCII;
only a confident other language wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from pipeline.classify.encoder import clean_text

UNDETERMINED = "und"
ENGLISH = "en"
ENGLISH_WORD_SHARE = 0.5
"""A post at least this share of whose words are common English words is English."""
OTHER_LANGUAGE_CONFIDENCE = 0.9
"""Below this probability for the top language, English wins when it is the runner-up."""
UNSURE = 0.5
"""Below this, a plain-ASCII post is English: "parking" is not 5%-confident Faroese."""

_NOISE = re.compile(r"[@#]\w+|\d+")
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_COMMON = frozenset(
    "lol lmao omg wtf smh rn pls plz idk tbh ngl bruh ok okay yeah yes nah app space spaces stream live audio "
    "join can't cant won't wont don't dont it's its i'm im still again even".split()
)


@dataclass(frozen=True)
class LanguageResult:
    lang: str
    """ISO 639-1 code, or ``und`` when there is nothing to read."""
    confidence: float

    @property
    def is_english(self) -> bool:
        return self.lang == ENGLISH


def detect_languages(texts: Sequence[str]) -> list[LanguageResult]:
    return [detect_language(text) for text in texts]


def detect_language(text: object) -> LanguageResult:
    """The language of one post."""
    letters = _NOISE.sub(" ", clean_text(text))
    words = _WORDS.findall(letters)
    if sum(len(word) for word in words) < 2:
        return LanguageResult(UNDETERMINED, 0.0)
    if _english_share(words) >= ENGLISH_WORD_SHARE:
        return LanguageResult(ENGLISH, 1.0)
    ranked = _identifier().rank(" ".join(words))
    (top, top_p), (second, _) = ranked[0], ranked[1]
    unsure_ascii = top_p < UNSURE and letters.isascii()
    if top != ENGLISH and (unsure_ascii or (top_p < OTHER_LANGUAGE_CONFIDENCE and second == ENGLISH)):
        return LanguageResult(ENGLISH, round(float(dict(ranked)[ENGLISH]), 4))
    if len(top) != 2:  # langid's extra codes (zxx: no linguistic content) are not ISO 639-1
        return LanguageResult(UNDETERMINED, 0.0)
    return LanguageResult(str(top), round(float(top_p), 4))


def _english_share(words: list[str]) -> float:
    stop_words = _stop_words()
    common = sum(1 for word in words if word.lower() in stop_words or word.lower() in _COMMON)
    return common / len(words)


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
