"""Which emoji count as a rating, and how reactions add up to a rating. Pure: no I/O.

A person's vote on an execution is the sign of the sum of their counting reactions there; the execution's
rating is the sign of the sum of everyone's votes (a tie is 0). Skin tones (`+1::skin-tone-3`) count as
the base emoji. The mapping is set with `RATING_EMOJI`:

    RATING_EMOJI="+1 thumbsup heart rocket | -1 thumbsdown x"

Names left of `|` count as 👍 (+1), names right of it as 👎 (-1). Names are separated by spaces or commas
and may be written with colons (`:rocket:`). An empty setting keeps the default mapping below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

POSITIVE = ("+1", "thumbsup", "white_check_mark", "heavy_check_mark", "heart", "tada", "raised_hands", "100")
NEGATIVE = ("-1", "thumbsdown", "x", "no_entry", "disappointed")

_NAME = re.compile(r"^[a-z0-9_+'-]{1,100}$")


def sign(value: int) -> int:
    return (value > 0) - (value < 0)


def base_name(reaction: str) -> str:
    """`+1::skin-tone-3` -> `+1`; `:Rocket:` -> `rocket`. Slack sends names without colons."""
    return reaction.strip().strip(":").split("::", 1)[0].lower()


@dataclass(frozen=True)
class EmojiMap:
    """Emoji name (without skin tone) -> +1 or -1. Anything not in it does not count."""

    weights: Mapping[str, int]

    def weight(self, reaction: str) -> int:
        """+1, -1, or 0 for a reaction that does not count."""
        return self.weights.get(base_name(reaction), 0)

    def names(self, value: int) -> list[str]:
        return [name for name, weight in self.weights.items() if weight == value]


def default_emoji() -> EmojiMap:
    return _make(POSITIVE, NEGATIVE)


def parse_rating_emoji(text: str) -> EmojiMap:
    """Read a `RATING_EMOJI` value; an empty one gives the default. Raises ValueError saying what is wrong."""
    if not text.strip():
        return default_emoji()
    if text.count("|") != 1:
        raise ValueError("write the 👍 names, then `|`, then the 👎 names, e.g. `+1 heart | -1 x`")
    left, right = text.split("|")
    positive, negative = _names(left), _names(right)
    if not positive and not negative:
        raise ValueError("names no emoji")
    both = sorted(set(positive) & set(negative))
    if both:
        raise ValueError(f"counts {', '.join(both)} as both 👍 and 👎")
    return _make(positive, negative)


def _names(part: str) -> list[str]:
    names = [base_name(word) for word in re.split(r"[\s,]+", part) if word.strip(" :")]
    bad = [name for name in names if not _NAME.match(name)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not an emoji name")
    return list(dict.fromkeys(names))


def _make(positive: Iterable[str], negative: Iterable[str]) -> EmojiMap:
    weights = {name: 1 for name in positive} | {name: -1 for name in negative}
    return EmojiMap(MappingProxyType(weights))


def vote_of(weights: Iterable[int]) -> int:
    """One person's vote: the sign of the sum of their counting reactions."""
    return sign(sum(weights))


def rating_of(votes: Iterable[int]) -> int:
    """The execution's rating: the sign of the sum of the votes; a tie (or no vote) is 0."""
    return sign(sum(votes))
