"""Synthetic authors: pools of X users, Bluesky repos and Mastodon accounts.

Follower counts are heavily skewed (most accounts have a few hundred, a handful
have millions); how often an account posts is skewed too. Every account writes
in one language, so about 9 % of posts are not English.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone

from pipeline.sample import ids
from pipeline.sample.texts_intl import LANGUAGE_WEIGHTS

FIRST_NAMES = {
    "en": (
        "Jenny", "Mike", "Chris", "Ashley", "Tyler", "Brandon", "Megan", "Kevin", "Laura", "Dave", "Sam", "Rachel",
        "Josh", "Kayla", "Derek", "Amber", "Nick", "Tasha", "Greg", "Brittany", "Marcus", "Hannah", "Cody", "Erin",
        "Jamal", "Priya", "Wei", "Olivia", "Ethan", "Zoe", "Luke", "Grace", "Noah", "Tom", "Kate", "Ben", "Maya",
        "Ryan", "Leah", "Dan", "Nina", "Andre", "Tony", "Lisa", "Steve", "Carrie", "Jordan", "Taylor", "Morgan",
    ),
    "es": ("Carlos", "María", "José", "Lucía", "Javier", "Sofía", "Diego", "Valentina", "Andrés", "Camila", "Pablo"),
    "pt": ("João", "Ana", "Pedro", "Beatriz", "Lucas", "Mariana", "Gabriel", "Juliana", "Rafael", "Larissa"),
    "de": ("Jonas", "Lena", "Felix", "Anna", "Lukas", "Marie", "Tobias", "Sarah", "Max", "Katrin"),
    "fr": ("Camille", "Louis", "Chloé", "Hugo", "Manon", "Julien", "Léa", "Thomas", "Inès", "Antoine"),
    "ja": ("Sakura", "Takeshi", "Yuki", "Haruto", "Aoi", "Ren", "Mei", "Sota", "Hina", "Kenta"),
    "it": ("Giulia", "Marco", "Francesca", "Luca", "Chiara", "Matteo", "Sara", "Davide"),
}
LAST_NAMES = {
    "en": (
        "Carter", "Nguyen", "Smith", "Johnson", "Walker", "Brooks", "Patel", "Kim", "Lopez", "Reed", "Hughes",
        "Bennett", "Price", "Foster", "Ward", "Russell", "Griffin", "Hayes", "Myers", "Ford", "Wells", "Cole",
    ),
    "es": ("García", "Martínez", "Rodríguez", "López", "Hernández", "Pérez", "Gómez", "Díaz", "Ramírez", "Torres"),
    "pt": ("Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira", "Almeida", "Ferreira", "Lima", "Ribeiro"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Koch", "Richter"),
    "fr": ("Martin", "Bernard", "Dubois", "Laurent", "Moreau", "Lefebvre", "Girard", "Roux", "Fournier", "Mercier"),
    "ja": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi"),
    "it": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
}
WORDS = (
    "midnight", "coder", "texas", "dad", "mom", "patriot", "garden", "coffee", "river", "tech", "crypto", "eagle",
    "sunset", "retro", "pixel", "wolf", "maple", "ocean", "desert", "urban", "quiet", "lucky", "rusty", "nova",
    "vinyl", "cactus", "neon", "storm", "bayou", "prairie", "gamer", "nerd", "tired", "real", "just", "ohio",
)
NAME_EMOJI = ("🇺🇸", "🌻", "✨", "🦅", "☕", "🎧", "🌊", "🏈", "🐶", "🚀", "🌵", "💙")

NEWS_OUTLETS = (
    ("NewsDesk Now", "NewsDeskNow", "en"),
    ("Wire Alert Live", "WireAlertLive", "en"),
    ("TechLedger News", "TechLedgerNews", "en"),
    ("Politi Briefing", "PolitiBriefing", "en"),
    ("Global Pulse 24", "GlobalPulse24", "en"),
    ("Headline Radar", "HeadlineRadar", "en"),
    ("Newsroom Relay", "NewsroomRelay", "en"),
    ("Capitol Minute", "CapitolMinute", "en"),
    ("Noticias al Instante", "NoticiasInstant", "es"),
    ("Agora Manchete", "AgoraManchete", "pt"),
    ("Eilmeldung Netz", "EilmeldungNetz", "de"),
    ("Dépêche Numérique", "DepecheNum", "fr"),
    ("速報ネットニュース", "SokuhoNetNews", "ja"),
)
"""Synthetic news accounts (name, handle, language): large followings, verified."""

X_FAMOUS = {
    "elonmusk": ("44196397", "Elon Musk", "2009-06-02T20:12:29.000Z"),
    "realDonaldTrump": ("25073877", "Donald J. Trump", "2009-03-18T13:46:38.000Z"),
}
"""The public accounts whose public statements the sample quotes (id, name, created_at)."""

MASTODON_INSTANCES = (
    ("mastodon.social", "en", 40), ("mastodon.online", "en", 8), ("fosstodon.org", "en", 5), ("hachyderm.io", "en", 5),
    ("mstdn.social", "en", 6), ("infosec.exchange", "en", 5), ("mas.to", "en", 4), ("sfba.social", "en", 3),
    ("mastodon.world", "en", 4), ("chaos.social", "de", 4), ("mastodon.uno", "it", 2), ("piaille.fr", "fr", 3),
    ("mstdn.jp", "ja", 4), ("masto.es", "es", 3), ("mastodon.com.br", "pt", 3),
)
"""Instances (domain, main language, weight). The sample was read from mastodon.social, so its users are local."""

HOME_INSTANCE = "mastodon.social"


@dataclass
class Person:
    """Who an account belongs to, shared by the three platforms' account shapes."""

    first: str
    last: str
    lang: str
    handle: str
    display_name: str
    followers: int
    following: int
    statuses: int
    created: datetime
    verified: bool
    activity: float
    kind: str = "regular"  # regular | big | news | famous


@dataclass
class XUser:
    person: Person
    id: str
    username: str

    def as_json(self) -> dict:
        p = self.person
        return {
            "id": self.id,
            "name": p.display_name,
            "username": self.username,
            "created_at": ids.iso_ms(p.created, millis=False),
            "verified": p.verified,
            "public_metrics": {
                "followers_count": p.followers,
                "following_count": p.following,
                "tweet_count": p.statuses,
                "listed_count": p.followers // 97,
            },
        }


@dataclass
class BlueskyRepo:
    person: Person
    did: str
    handle: str


@dataclass
class MastodonAccount:
    person: Person
    id: str
    username: str
    domain: str

    @property
    def acct(self) -> str:
        return self.username if self.domain == HOME_INSTANCE else f"{self.username}@{self.domain}"

    @property
    def url(self) -> str:
        return f"https://{self.domain}/@{self.username}"

    def as_json(self, last_status: datetime) -> dict:
        p = self.person
        return {
            "id": self.id,
            "username": self.username,
            "acct": self.acct,
            "display_name": p.display_name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": p.created.strftime("%Y-%m-%dT00:00:00.000Z"),
            "note": "",
            "url": self.url,
            "uri": f"https://{self.domain}/users/{self.username}",
            "followers_count": p.followers,
            "following_count": p.following,
            "statuses_count": p.statuses,
            "last_status_at": last_status.strftime("%Y-%m-%d"),
            "emojis": [],
            "fields": [],
        }


def weighted_language(rng: random.Random) -> str:
    codes, weights = zip(*LANGUAGE_WEIGHTS)
    return rng.choices(codes, weights)[0]


def _handle(rng: random.Random, first: str, last: str) -> str:
    plain_first, plain_last = _ascii(first), _ascii(last)
    word = rng.choice(WORDS)
    pattern = rng.randrange(8)
    if pattern == 0:
        return f"{plain_first}{plain_last}"
    if pattern == 1:
        return f"{plain_first.lower()}_{plain_last.lower()}"
    if pattern == 2:
        return f"{plain_first[0].lower()}{plain_last.lower()}{rng.randint(1, 99)}"
    if pattern == 3:
        return f"{plain_first}{rng.randint(1960, 2006)}"
    if pattern == 4:
        return f"{word}{rng.choice(WORDS)}{rng.randint(1, 999)}"
    if pattern == 5:
        return f"the{word}{plain_first.lower()}"
    if pattern == 6:
        return f"{word.capitalize()}{plain_first}"
    return f"{plain_first.lower()}{plain_last[:3].lower()}_{rng.randint(10, 9999)}"


def _ascii(text: str) -> str:
    table = str.maketrans("áéíóúãõçüöäñèêëôâàìòùß", "aeiouaocuoaneeeoaaious")
    cleaned = "".join(c for c in text.lower().translate(table) if c.isascii() and c.isalnum())
    return cleaned.capitalize() if text[:1].isupper() else cleaned


def _display_name(rng: random.Random, first: str, last: str, handle: str) -> str:
    style = rng.randrange(6)
    if style <= 2:
        name = f"{first} {last}"
    elif style == 3:
        name = first
    elif style == 4:
        name = handle
    else:
        name = f"{first} {last[0]}."
    if rng.random() < 0.15:
        name = f"{name} {rng.choice(NAME_EMOJI)}"
    return name


def _created(rng: random.Random, before: datetime) -> datetime:
    """Account creation time: 2008 to shortly before the incident, more recent ones likelier."""
    start = datetime(2008, 1, 1, tzinfo=timezone.utc).timestamp()
    span = before.timestamp() - 86_400 * 3 - start
    return datetime.fromtimestamp(int(start + span * rng.random() ** 0.7), timezone.utc)


def make_people(rng: random.Random, count: int, before: datetime, big: int) -> list[Person]:
    """``count`` regular people and ``big`` large accounts, plus the news outlets."""
    people, seen = [], set()
    for index in range(count + big):
        lang = weighted_language(rng)
        first, last = rng.choice(FIRST_NAMES[lang]), rng.choice(LAST_NAMES[lang])
        handle = _unique(_handle(rng, first, last)[:15], seen, rng)
        is_big = index >= count
        followers = int(math.exp(rng.gauss(11.8, 1.0))) if is_big else int(math.exp(rng.gauss(4.6, 1.7)))
        people.append(
            Person(
                first=first,
                last=last,
                lang=lang,
                handle=handle,
                display_name=_display_name(rng, first, last, handle),
                followers=min(followers, 4_000_000),
                following=int(math.exp(rng.gauss(5.6, 1.1))),
                statuses=int(math.exp(rng.gauss(7.6, 1.6))) + 1,
                created=_created(rng, before),
                verified=rng.random() < (0.7 if is_big else 0.12),
                activity=rng.paretovariate(1.4) * (2.5 if is_big else 1.0),
                kind="big" if is_big else "regular",
            )
        )
    people.extend(_news_people(rng, before))
    return people


def _news_people(rng: random.Random, before: datetime) -> list[Person]:
    return [
        Person(
            first=name,
            last="",
            lang=lang,
            handle=handle,
            display_name=name,
            followers=int(math.exp(rng.gauss(13.3, 0.8))),
            following=rng.randint(50, 900),
            statuses=rng.randint(80_000, 600_000),
            created=_created(rng, before),
            verified=True,
            activity=1.0,
            kind="news",
        )
        for name, handle, lang in NEWS_OUTLETS
    ]


def _unique(handle: str, seen: set[str], rng: random.Random) -> str:
    while handle.lower() in seen:
        handle = f"{handle[:11]}{rng.randint(100, 9999)}"
    seen.add(handle.lower())
    return handle


def x_users(people: list[Person], rng: random.Random) -> list[XUser]:
    return [XUser(p, ids.x_user_id(p.created, rng), p.handle) for p in people]


def x_famous(name: str, followers: int) -> XUser:
    """One of the public accounts in :data:`X_FAMOUS`."""
    user_id, display, created = X_FAMOUS[name]
    person = Person(
        first=display, last="", lang="en", handle=name, display_name=display, followers=followers,
        following=800, statuses=48_000, created=ids.parse_iso(created), verified=True, activity=0.0, kind="famous",
    )
    return XUser(person, user_id, name)


def bluesky_repos(people: list[Person], rng: random.Random) -> list[BlueskyRepo]:
    repos = []
    for p in people:
        name = p.handle.lower().replace("_", "-").strip("-")
        domain = "bsky.social" if rng.random() < 0.9 else rng.choice(("com", "net", "dev", "xyz"))  # some own a domain
        repos.append(BlueskyRepo(p, ids.did_plc(rng), f"{name}.{domain}"))
    return repos


_MASTODON_FROM = datetime(2016, 11, 1, tzinfo=timezone.utc)
_FIRST_ACCOUNT = datetime(2008, 1, 1, tzinfo=timezone.utc)


def _on_mastodon(created: datetime) -> datetime:
    """The same place in time order, squeezed into Mastodon's lifetime (late 2016 to 2024)."""
    share = (created - _FIRST_ACCOUNT) / (datetime(2024, 8, 1, tzinfo=timezone.utc) - _FIRST_ACCOUNT)
    return _MASTODON_FROM + (datetime(2024, 1, 1, tzinfo=timezone.utc) - _MASTODON_FROM) * share


def mastodon_accounts(people: list[Person], rng: random.Random) -> list[MastodonAccount]:
    """Accounts spread over instances, more often one in the person's language."""
    accounts = []
    for p in people:
        p.created = _on_mastodon(p.created)
        instances = [(d, w * (4 if lang == p.lang else 1)) for d, lang, w in MASTODON_INSTANCES]
        domain = rng.choices([d for d, _ in instances], [w for _, w in instances])[0]
        accounts.append(MastodonAccount(p, ids.mastodon_id(p.created, rng), p.handle, domain))
    return accounts
