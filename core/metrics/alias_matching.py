"""Which domains look like another's spelling: the rules behind alias suggestions.

Keys already merge exact variants (case, outer and repeated white space), so these look
past the key: an acronym of the other's words, a near spelling, or sessions of one domain
matched to flows of the other (docs/metrics.md, "Alias suggestions"). Similarity is the
standard library's difflib ratio (2·matches / total length, Ratcliff–Obershelp): short
domain names need no tuned metric, it is deterministic across platforms and versions we
support, and it adds no dependency; its two cheap upper bounds skip most pairs first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import Enum

SIMILARITY_THRESHOLD = 0.85
"""Pairs of keys at least this similar are suggested (e.g. "vpn" / "vpns", "e-mail" / "email")."""
SHARED_MIN_SESSIONS = 3
SHARED_MIN_SHARE = (1, 5)
"""Sessions of a domain matched to another domain's flows count as a reason when they are at
least SHARED_MIN_SESSIONS and at least this share (1/5) of the domain's sessions."""

_WORDS = re.compile(r"[^\W_]+")
_SKIPPED_WORDS = frozenset({"and", "of", "the", "for"})


class AliasReason(Enum):
    ACRONYM = "ACRONYM"
    SIMILAR_SPELLING = "SIMILAR_SPELLING"
    SHARED_FLOWS = "SHARED_FLOWS"


@dataclass(frozen=True, slots=True)
class DomainFacts:
    """One domain key (no alias) as the suggestions see it in a window."""

    key: str
    name: str
    flow_count: int
    session_count: int


@dataclass(frozen=True, slots=True)
class AliasSuggestion:
    source: DomainFacts
    target: DomainFacts
    reasons: tuple[AliasReason, ...]
    matched_session_count: int
    similarity: float


def acronym(key: str) -> str | None:
    """The initials of a key's words, numbers kept whole ("microsoft 365" -> "m365");
    None for fewer than two words (a single word has no acronym worth matching)."""
    words = [word for word in _WORDS.findall(key) if word not in _SKIPPED_WORDS]
    if len(words) < 2:
        return None
    return "".join(word if word.isdigit() else word[0] for word in words)


def compact(key: str) -> str:
    """A key's letters and digits only ("m 365" and "m-365" read as "m365")."""
    return "".join(_WORDS.findall(key))


def similarity(a: str, b: str) -> float:
    """difflib's ratio of two keys, 0 when its cheap upper bounds are already too low."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILARITY_THRESHOLD:
        return 0.0
    if matcher.quick_ratio() < SIMILARITY_THRESHOLD:
        return 0.0
    return matcher.ratio()


def _shared(facts: DomainFacts, matched: int) -> bool:
    share, of = SHARED_MIN_SHARE
    return matched >= SHARED_MIN_SESSIONS and matched * of >= facts.session_count * share


def _ordered(a: DomainFacts, b: DomainFacts) -> tuple[DomainFacts, DomainFacts]:
    """(source, target) of a similar pair: the domain with fewer flows, then fewer
    sessions, then the larger key, is the one suggested to merge into the other."""
    if (a.flow_count, a.session_count, b.key) < (b.flow_count, b.session_count, a.key):
        return a, b
    return b, a


def suggestions(
    domains: Iterable[DomainFacts],
    shared: Mapping[tuple[str, str], int],
    aliases: Mapping[str, str],
    dismissed: set[tuple[str, str]],
) -> list[AliasSuggestion]:
    """Every (source, target) pair with a reason, not yet aliased nor dismissed, keeping
    mappings flat: a source is no alias and no target of one, a target is no alias.
    `shared[(x, y)]`: sessions of key x matched to flows of key y. Ordered by the source's
    sessions (desc), then source key, then target key."""
    facts = {domain.key: domain for domain in domains if domain.key not in aliases}
    targets = set(aliases.values())
    reasons: dict[tuple[str, str], set[AliasReason]] = {}
    for key in facts:
        short = acronym(key)
        if short is None:
            continue
        for other in facts:
            if other != key and compact(other) == short:
                reasons.setdefault((other, key), set()).add(AliasReason.ACRONYM)
    for (source, target), matched in shared.items():
        known = source in facts and target in facts and source != target
        if known and _shared(facts[source], matched):
            reasons.setdefault((source, target), set()).add(AliasReason.SHARED_FLOWS)
    keys = sorted(facts)
    for index, a in enumerate(keys):
        for b in keys[index + 1 :]:
            if similarity(a, b) < SIMILARITY_THRESHOLD:
                continue
            # With the pair's other reasons when it has any, else the default direction.
            if (a, b) in reasons:
                pair = (a, b)
            elif (b, a) in reasons:
                pair = (b, a)
            else:
                first, second = _ordered(facts[a], facts[b])
                pair = (first.key, second.key)
            reasons.setdefault(pair, set()).add(AliasReason.SIMILAR_SPELLING)
    found = [
        AliasSuggestion(
            source=facts[source],
            target=facts[target],
            reasons=tuple(reason for reason in AliasReason if reason in given),
            matched_session_count=shared.get((source, target), 0),
            similarity=similarity_of(source, target),
        )
        for (source, target), given in reasons.items()
        if source not in targets and (source, target) not in dismissed
    ]
    found.sort(key=lambda s: (-s.source.session_count, s.source.key, s.target.key))
    return found


def similarity_of(a: str, b: str) -> float:
    """difflib's ratio of two keys, without the bounds' shortcut."""
    return SequenceMatcher(None, a, b, autojunk=False).ratio()
