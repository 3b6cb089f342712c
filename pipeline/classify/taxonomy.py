"""Taxonomies and incident profiles: the YAML files that configure the English heads.

A *taxonomy* names the complaint types of one kind of incident (live audio, a bank's
app). Each label has a description, at least five example posts and optional
keywords and patterns; ``none`` is the implicit outcome for a post that fits no label.
A user writes one for a new kind of incident without touching Python::

    name: live-audio
    version: "1"
    description: Complaints about a live audio or streaming event that fails.
    labels:
      - name: cannot_join
        description: The user cannot get into the live event at all.
        examples: [...]           # five or more posts
        keywords: [can't join]    # optional, whole words, case-insensitive
        patterns:                 # optional: a regular expression or a spaCy token pattern
          - "stuck (on|at) .?connecting"
          - [{LOWER: {IN: [join, joining]}}, {LOWER: {IN: [nothing, failed]}}]
    none_examples: [...]          # optional: posts that are *not* complaints

Token patterns are matched on spaCy's tokenizer alone, so they may use only lexical
attributes (``LOWER``, ``TEXT``, ``SHAPE``, ``IS_*``, ``LIKE_*`` ...), not ``LEMMA``
or ``POS``. The taxonomy's version string is its name and a hash of its parsed
content (``live-audio@3f2a9c1d``): labels written with it can be traced to the exact
labels and examples, while reformatting or comments do not change it.

An *incident profile* says what one incident is about (for relevance) and who can
be blamed (aliases), and names the taxonomy to use.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import TaxonomyError

HERE = Path(__file__).resolve().parent
TAXONOMY_DIR = HERE / "taxonomies"
PROFILE_DIR = HERE / "profiles"
NONE = "none"
MIN_EXAMPLES = 5
BLAME_TARGETS = ("company", "person", "attackers", "third_party")

LEXICAL_ATTRIBUTES = frozenset(
    "ORTH TEXT LOWER NORM LENGTH SHAPE PREFIX SUFFIX OP IS_ALPHA IS_ASCII IS_DIGIT IS_LOWER IS_UPPER "
    "IS_TITLE IS_PUNCT IS_SPACE IS_STOP IS_BRACKET IS_QUOTE IS_LEFT_PUNCT IS_RIGHT_PUNCT IS_CURRENCY "
    "LIKE_NUM LIKE_URL LIKE_EMAIL".split()
)
"""Token-pattern attributes the tokenizer alone sets (no tagger, parser or lemmatizer runs)."""


TokenPattern = list[dict[str, Any]]


class Label(BaseModel):
    """One complaint type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = Field(min_length=1)
    examples: list[str] = Field(min_length=MIN_EXAMPLES)
    keywords: list[str] = []
    patterns: list[str | TokenPattern] = []

    @field_validator("name")
    @classmethod
    def _snake_case_not_none(cls, value: str) -> str:
        if value == NONE:
            raise ValueError(f"'{NONE}' is implicit; list its posts under none_examples instead")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise ValueError(f"{value!r} is not a label name; use lower_snake_case such as 'cannot_join'")
        return value

    @field_validator("examples", "keywords")
    @classmethod
    def _no_blank_strings(cls, values: list[str]) -> list[str]:
        if any(not value.strip() for value in values):
            raise ValueError("blank entry")
        return values

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str | TokenPattern]) -> list[str | TokenPattern]:
        for pattern in patterns:
            if isinstance(pattern, str):
                _check_regex(pattern)
            else:
                _check_token_pattern(pattern)
        return patterns


class Taxonomy(BaseModel):
    """A validated taxonomy; build it with :func:`load_taxonomy`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    declared_version: str = Field(alias="version")
    description: str = Field(min_length=1)
    labels: list[Label] = Field(min_length=1)
    none_examples: list[str] = []
    source: Path | None = Field(None, exclude=True)

    @field_validator("declared_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _unique_labels(self) -> Taxonomy:
        seen: set[str] = set()
        for label in self.labels:
            if label.name in seen:
                raise ValueError(f"label {label.name!r}: duplicate label name")
            seen.add(label.name)
        return self

    @cached_property
    def version(self) -> str:
        """``name@hash``: changes whenever a label, example, keyword or pattern changes."""
        canonical = json.dumps(self.model_dump(by_alias=True), sort_keys=True, ensure_ascii=False)
        return f"{self.name}@{hashlib.sha256(canonical.encode()).hexdigest()[:8]}"

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]

    @property
    def outcomes(self) -> list[str]:
        """Every label a post can get, ``none`` last."""
        return [*self.label_names, NONE]

    @cached_property
    def matcher(self) -> EvidenceMatcher:
        return EvidenceMatcher([(label.keywords, label.patterns) for label in self.labels])


class Aliases(BaseModel):
    """Canonical name -> the words that refer to it, per blame target.

    ``products`` names the company's products ("Spaces", "Twitch"): a bare symptom that
    mentions one ("the Twitch app froze") blames no one, so a product blames its
    company only next to an explicit blame cue ("fix your app", "thanks to").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    company: dict[str, list[str]] = {}
    products: dict[str, list[str]] = {}
    person: dict[str, list[str]] = {}
    attackers: dict[str, list[str]] = {}
    third_party: dict[str, list[str]] = {}


class RelevanceSettings(BaseModel):
    """How the relevance score is put together (see ``relevance.py``).

    The defaults are the live-audio dev split's fit; a profile may override any of them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(0.3, ge=0.0, le=1.0)
    bias: float = -2.27
    description_weight: float = 6.36
    on_topic_weight: float = 8.11
    off_topic_weight: float = -6.08
    keyword_weight: float = 1.47
    negative_keyword_weight: float = -3.94
    complaint_words_weight: float = -0.89

    @property
    def weights(self) -> list[float]:
        return [self.description_weight, self.on_topic_weight, self.off_topic_weight,
                self.keyword_weight, self.negative_keyword_weight, self.complaint_words_weight]


class IncidentProfile(BaseModel):
    """What one incident is about, who can be blamed for it, and its taxonomy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    taxonomy: str = Field(min_length=1)
    keywords: list[str] = []
    negative_keywords: list[str] = []
    on_topic: list[str] = []
    off_topic: list[str] = []
    aliases: Aliases = Aliases()
    relevance: RelevanceSettings = RelevanceSettings()
    source: Path | None = Field(None, exclude=True)

    def taxonomy_path(self) -> Path:
        """The taxonomy file: a bundled name (``live_audio``) or a path relative to the profile."""
        return resolve(self.taxonomy, TAXONOMY_DIR, self.source.parent if self.source else Path.cwd())

    @cached_property
    def keyword_matcher(self) -> EvidenceMatcher:
        return EvidenceMatcher([(self.keywords, []), (self.negative_keywords, [])])


class EvidenceMatcher:
    """Keyword and pattern hits of a list of (keywords, patterns) groups, one column per group."""

    def __init__(self, groups: list[tuple[list[str], list[str | TokenPattern]]]):
        self.regexes = [_group_regex(keywords, patterns) for keywords, patterns in groups]
        self.token_patterns = [[p for p in patterns if not isinstance(p, str)] for _, patterns in groups]
        self._matcher = None

    def evidence(self, texts: list[str]) -> np.ndarray:
        """(n, groups) array of 0/1: does the text contain any keyword or pattern of the group."""
        hits = np.zeros((len(texts), len(self.regexes)), dtype=np.float32)
        for row, text in enumerate(texts):
            for column, regex in enumerate(self.regexes):
                if regex is not None and regex.search(text):
                    hits[row, column] = 1.0
        if any(self.token_patterns):
            self._add_token_hits(texts, hits)
        return hits

    def _add_token_hits(self, texts: list[str], hits: np.ndarray) -> None:
        tokenizer, matcher = self._spacy_matcher()
        for row, doc in enumerate(tokenizer.pipe(texts)):
            for match_id, _, _ in matcher(doc):
                hits[row, int(tokenizer.vocab.strings[match_id])] = 1.0

    def _spacy_matcher(self):
        if self._matcher is None:
            import spacy
            from spacy.matcher import Matcher

            tokenizer = spacy.blank("en").tokenizer
            matcher = Matcher(tokenizer.vocab)
            for column, patterns in enumerate(self.token_patterns):
                if patterns:
                    matcher.add(str(column), patterns)
            self._matcher = (tokenizer, matcher)
        return self._matcher


def load_taxonomy(location: str | Path) -> Taxonomy:
    """Read and validate a taxonomy: a path, or the name of a bundled one (``live_audio``)."""
    path = resolve(location, TAXONOMY_DIR, Path.cwd())
    return _validate(Taxonomy, path, _read_yaml(path)).model_copy(update={"source": path})


def load_profile(location: str | Path) -> IncidentProfile:
    """Read and validate an incident profile: a path, or the name of a bundled one (``spaces``)."""
    path = resolve(location, PROFILE_DIR, Path.cwd())
    data = _read_yaml(path)
    profile = _validate(IncidentProfile, path, data)
    profile = profile.model_copy(update={"source": path})
    if not profile.taxonomy_path().is_file():
        raise TaxonomyError(f"{path}: taxonomy {profile.taxonomy!r} not found; name a bundled taxonomy or a file")
    return profile


def resolve(location: str | Path, bundled: Path, relative_to: Path) -> Path:
    """A bare name is a bundled file; anything else is a path (relative to ``relative_to``)."""
    text = str(location)
    if re.fullmatch(r"[A-Za-z0-9_-]+", text) and (bundled / f"{text}.yaml").is_file():
        return bundled / f"{text}.yaml"
    path = Path(text).expanduser()
    return path if path.is_absolute() else relative_to / path


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TaxonomyError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise TaxonomyError(f"{path}: not valid YAML{line}: {getattr(error, 'problem', error)}") from None


def _validate(model: type[BaseModel], path: Path, data: Any):
    if not isinstance(data, dict):
        raise TaxonomyError(f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise TaxonomyError(f"{path}: {_describe(error.errors()[0], data)}") from None


def _describe(problem: dict, data: dict) -> str:
    """One line: which label (by name, when there is one), which field, what was wrong."""
    loc = list(problem["loc"])
    where = []
    if len(loc) >= 2 and loc[0] == "labels" and isinstance(loc[1], int):
        label = data["labels"][loc[1]]
        name = label.get("name") if isinstance(label, dict) else None
        where.append(f"label {name!r}" if name else f"label #{loc[1] + 1}")
        loc = loc[2:]
    field = ".".join(str(part) for part in loc if not isinstance(part, int) and "[" not in str(part))
    if field:
        where.append(field)
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "too_short" and field == "examples":
        message = f"needs at least {MIN_EXAMPLES} examples, got {len(problem['input'])}"
    return ": ".join([*where, message]) if where else message


def _check_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"pattern {pattern!r} is not a valid regular expression ({error})") from None


def _check_token_pattern(pattern: TokenPattern) -> None:
    from spacy.errors import MatchPatternError
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

    if not pattern or not all(isinstance(token, dict) for token in pattern):
        raise ValueError(f"pattern {pattern!r} must be a regex string or a non-empty list of token dicts")
    for token in pattern:
        unknown = sorted(key for key in token if key.upper() not in LEXICAL_ATTRIBUTES)
        if unknown:
            raise ValueError(f"pattern {pattern!r} uses {', '.join(unknown)}; only lexical attributes work here")
    try:
        Matcher(Vocab(), validate=True).add("pattern", [pattern])
    except MatchPatternError as error:
        details = "; ".join(line.strip("- ") for line in str(error).splitlines() if line.startswith("- ["))
        raise ValueError(f"pattern {pattern!r} is not a valid spaCy token pattern ({details})") from None


def _group_regex(keywords: list[str], patterns: list[str | TokenPattern]) -> re.Pattern | None:
    parts = [_keyword_regex(keyword) for keyword in keywords]
    parts += [f"(?:{pattern})" for pattern in patterns if isinstance(pattern, str)]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def _keyword_regex(keyword: str) -> str:
    """Whole words, any run of spaces between them; edges that are not word characters need no boundary."""
    body = r"\s+".join(re.escape(word) for word in keyword.split())
    start = r"(?<!\w)" if re.match(r"\w", keyword.strip()) else ""
    end = r"(?!\w)" if re.search(r"\w$", keyword.strip()) else ""
    return f"{start}{body}{end}"
