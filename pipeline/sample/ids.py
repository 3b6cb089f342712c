"""Identifiers and timestamps in each platform's own style, consistent with the time they stand for."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

TWITTER_EPOCH_MS = 1_288_834_974_657
"""X snowflake ids count milliseconds from this instant (4 Nov 2010)."""

_SNOWFLAKE_USERS_FROM = datetime(2015, 6, 1, tzinfo=timezone.utc)
_BASE32_SORT = "234567abcdefghijklmnopqrstuvwxyz"
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_TCO = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def millis(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (exact, no float rounding)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_millis(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)


def iso_ms(moment: datetime, millis: bool = True) -> str:
    """``2024-08-13T00:01:02.123Z``; with ``millis=False`` the fraction is ``.000`` as X writes it."""
    fraction = f"{moment.microsecond // 1000:03d}" if millis else "000"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"


def iso_offset(moment: datetime, zone: timezone) -> str:
    """``2024-08-12T20:09:31.000-04:00``, as Statuspage writes times for a page in that zone."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + f"{offset[:3]}:{offset[3:]}"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def snowflake(ms: int, rng: random.Random) -> int:
    """An X (Twitter) snowflake id for that millisecond: 41 bits of time, 10 of worker, 12 of sequence."""
    return ((ms - TWITTER_EPOCH_MS) << 22) | (rng.randrange(1024) << 12) | rng.randrange(4096)


def x_user_id(created: datetime, rng: random.Random) -> str:
    """Accounts from before mid-2015 have short sequential ids; later ones snowflakes."""
    if created >= _SNOWFLAKE_USERS_FROM:
        return str(snowflake(millis(created), rng))
    start = datetime(2008, 1, 1, tzinfo=timezone.utc)
    share = (created - start) / (_SNOWFLAKE_USERS_FROM - start)
    return str(int(12_000_000 + share**1.6 * 3_300_000_000) + rng.randrange(100_000))


def mastodon_id(moment: datetime, rng: random.Random) -> str:
    """Mastodon's snowflake-like id: milliseconds shifted left 16 bits plus a sequence."""
    return str((millis(moment) << 16) | rng.randrange(65_536))


def tid(micros: int, clock: int) -> str:
    """An AT Protocol TID (record key / revision): 53 bits of microseconds, 10 of clock id, sortable base32."""
    value = (micros << 10) | (clock & 1023)
    return "".join(_BASE32_SORT[(value >> shift) & 31] for shift in range(60, -1, -5))


def did_plc(rng: random.Random) -> str:
    return "did:plc:" + "".join(rng.choice(_BASE32) for _ in range(24))


def cid(rng: random.Random) -> str:
    """A CIDv1 (dag-cbor, sha-256) in base32, as Bluesky records carry them."""
    return "bafyrei" + "".join(rng.choice(_BASE32) for _ in range(52))


def short_code(rng: random.Random, length: int = 12) -> str:
    """A Statuspage-style lowercase id."""
    return "".join(rng.choice(_ALNUM) for _ in range(length))


def tco(rng: random.Random) -> str:
    return "https://t.co/" + "".join(rng.choice(_TCO) for _ in range(10))
