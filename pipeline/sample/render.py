"""Turn templates into posts: pick a usable template, fill its slots, roughen it like a real post."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pipeline.sample import texts, texts_intl
from pipeline.sample.truth import EASTERN

_CONDITION = re.compile(r"^\[(only|after|before):(\w+)\]\s*")
_SLOT = re.compile(r"\{(\w+)\}")
_HASHTAG = re.compile(r"(?<![\w&#])#(\w*[^\W\d_]\w*)")
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})\b")
_URL = re.compile(r"https?://\S+")

CATEGORY_TEMPLATES = {
    "hype": texts.HYPE,
    "cannot_join": texts.CANNOT_JOIN,
    "audio_quality": texts.AUDIO_QUALITY,
    "app_crash": texts.APP_CRASH,
    "late_start": texts.LATE_START,
    "capacity": texts.CAPACITY,
    "errors": texts.ERRORS,
    "muted": texts.MUTED,
    "blame_owner": texts.BLAME_OWNER,
    "blame_company": texts.BLAME_COMPANY,
    "ddos_believer": texts.DDOS_BELIEVER,
    "ddos_skeptic": texts.DDOS_SKEPTIC,
    "mockery": texts.MOCKERY,
    "melting": texts.MELTING,
    "leaving": texts.LEAVING,
    "defender": texts.DEFENDER,
    "news": texts.NEWS,
    "talk": texts.TALK,
    "reschedule": texts.RESCHEDULE,
    "offtopic": texts.OFFTOPIC,
    "emoji_only": texts.EMOJI_ONLY,
    "hashtag_only": texts.HASHTAG_ONLY,
}
COMPLAINT_TYPES = ("cannot_join", "audio_quality", "app_crash", "late_start", "capacity", "errors", "muted")
"""Categories that are complaints; the complaint taxonomy of a live-audio outage."""

MOOD = {
    **dict.fromkeys(COMPLAINT_TYPES, "complaint"),
    "blame_owner": "complaint",
    "blame_company": "complaint",
    "leaving": "complaint",
    "mockery": "joke",
    "melting": "joke",
    "ddos_skeptic": "joke",
    "hype": "hype",
    "talk": "hype",
    "defender": "defender",
    "ddos_believer": "defender",
    "reschedule": "sad",
}
"""Which emoji fit a category; categories not listed get none (news, off-topic)."""

NEWS_DOMAINS = ("news.example.com", "www.example.org", "wire.example.net", "live.example.com")


@dataclass(frozen=True)
class Template:
    text: str
    only: str | None = None
    after: str | None = None
    before: str | None = None

    def usable(self, incident: str, events: Mapping[str, datetime], at: datetime) -> bool:
        if self.only and self.only != incident:
            return False
        if self.after and (self.after not in events or at < events[self.after]):
            return False
        return not (self.before and self.before in events and at >= events[self.before])


def parse(line: str) -> Template:
    """A template line with its ``[only:..] [after:..] [before:..]`` prefixes split off."""
    conditions: dict[str, str] = {}
    while match := _CONDITION.match(line):
        conditions[match.group(1)] = match.group(2)
        line = line[match.end() :]
    return Template(line, **conditions)


ENGLISH = {category: tuple(parse(line) for line in lines) for category, lines in CATEGORY_TEMPLATES.items()}
INTL = {
    lang: {topic: tuple(parse(line) for line in lines) for topic, lines in topics.items()}
    for lang, topics in texts_intl.TEMPLATES.items()
}


@dataclass(frozen=True)
class Setting:
    """What a rendered post depends on besides the template: incident, platform, event times."""

    incident: str  # "aug2024" | "may2023"
    platform: str  # "x" | "bluesky" | "mastodon"
    events: Mapping[str, datetime]
    scheduled: datetime

    def fillers(self) -> dict[str, tuple[str, ...]]:
        merged = dict(texts.FILLERS)
        merged.update(texts.INCIDENT_FILLERS[self.incident])
        merged.update(texts.PLATFORM_FILLERS[self.platform])
        return merged


class Renderer:
    """Renders posts for one setting, drawing every choice from one Random."""

    def __init__(self, setting: Setting, rng: random.Random):
        self.setting = setting
        self.rng = rng
        self.fillers = setting.fillers()

    def post(self, category: str, lang: str, at: datetime) -> tuple[str, str]:
        """(text, language) of a new post of that category at that time."""
        template, lang = self._template(category, lang, at)
        text = self.fill(template.text, at, lang)
        if category not in ("emoji_only", "hashtag_only", "news", "offtopic"):
            text = self.roughen(text, MOOD.get(category), lang)
        return text, _language_of(lang, category)

    def _template(self, category: str, lang: str, at: datetime) -> tuple[Template, str]:
        topic = texts_intl.TOPIC_OF.get(category)
        if lang != "en" and topic in INTL.get(lang, {}):
            usable = self._usable(INTL[lang][topic], at)
            if usable:
                return self.rng.choice(usable), lang
        usable = self._usable(ENGLISH[category], at)
        if not usable:
            raise LookupError(f"no {category} template fits {at:%Y-%m-%d %H:%M} UTC")
        return self.rng.choice(usable), "en"

    def _usable(self, templates: tuple[Template, ...], at: datetime) -> list[Template]:
        s = self.setting
        return [t for t in templates if t.usable(s.incident, s.events, at)]

    def fill(self, text: str, at: datetime, lang: str = "en") -> str:
        return _SLOT.sub(lambda match: self._slot(match.group(1), at, lang), text)

    def _slot(self, name: str, at: datetime, lang: str) -> str:
        if name == "clock":
            local = at.astimezone(EASTERN)
            return f"{local.hour % 12 or 12}:{local.minute:02d}"
        if name == "late":
            return str(max(1, int((at - self.setting.scheduled).total_seconds() // 60)))
        if name == "until":
            return str(max(1, int((self.setting.scheduled - at).total_seconds() // 60)))
        if name == "minutes":
            return str(self.rng.choice((2, 3, 5, 10, 15, 20, 30, 45)))
        if name == "link":
            return self.article_url(at)
        if lang != "en" and name in texts_intl.PLAIN_FILLERS:
            return self.rng.choice(texts_intl.PLAIN_FILLERS[name][self.setting.incident])
        return self.rng.choice(self.fillers[name])

    def article_url(self, at: datetime) -> str:
        local = at.astimezone(EASTERN)
        slug = self.rng.choice(("spaces-outage", "x-spaces-glitches", "live-audio-problems", "spaces-delay", "outage-live"))
        return f"https://{self.rng.choice(NEWS_DOMAINS)}/{local:%Y/%m/%d}/{slug}-{self.rng.randrange(1000, 9999)}"

    def roughen(self, text: str, mood: str | None, lang: str) -> str:
        """Casing, typos, interjections, emoji and hashtags, at rates like real posts."""
        rng = self.rng
        english = lang == "en"
        if english and rng.random() < 0.22:
            text = text.lower()
        if english and rng.random() < 0.07:
            text = typo(text, rng)
        if english and mood == "complaint" and rng.random() < 0.03:
            text = text.upper()
        if rng.random() < 0.14:
            text = text.rstrip(".!")
        if english and rng.random() < 0.12:
            word = rng.choice(texts.EXCLAIMS)
            text = f"{word} {text}" if rng.random() < 0.4 else f"{text} {word}"
        elif english and rng.random() < 0.06:
            text += rng.choice(("!!", "!!!", "??", "?!", "..."))
        if mood and rng.random() < (0.4 if english else 0.25):
            text += " " + "".join(rng.choice(texts.EMOJI[mood]) for _ in range(rng.choice((1, 1, 1, 2, 3))))
        if rng.random() < (0.18 if english else 0.1):
            text += " " + " ".join(rng.sample(self.fillers["tag"], rng.choice((1, 1, 2))))
        return text


def typo(text: str, rng: random.Random) -> str:
    """One slip of the thumb: a swapped, dropped or doubled letter in one longer word."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    word, at = words[i], rng.randrange(1, len(words[i]) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    elif kind == 1:
        word = word[:at] + word[at + 1 :]
    else:
        word = word[:at] + word[at] + word[at:]
    words[i] = word
    return " ".join(words)


def _language_of(lang: str, category: str) -> str:
    """X's codes for posts without words: ``und`` (emoji only), ``qht`` (hashtags only)."""
    if category == "emoji_only":
        return "und"
    if category == "hashtag_only":
        return "qht"
    return lang


@dataclass(frozen=True)
class Spans:
    """Where the hashtags, mentions and links are in a text (character offsets, end exclusive)."""

    hashtags: tuple[tuple[int, int, str], ...]
    mentions: tuple[tuple[int, int, str], ...]
    urls: tuple[tuple[int, int, str], ...]


def spans(text: str) -> Spans:
    return Spans(
        tuple((m.start(), m.end(), m.group(1)) for m in _HASHTAG.finditer(text)),
        tuple((m.start(), m.end(), m.group(1)) for m in _MENTION.finditer(text)),
        tuple((m.start(), m.end(), m.group(0)) for m in _URL.finditer(text)),
    )
