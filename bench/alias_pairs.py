"""`bench aliases`: which aliases to define, and what the tabs must answer with them.

The aliases are real spellings of the measured account mapped onto other domains it has,
so every one really merges sessions (and flows, where the spelling has some): first the
qualified spellings of a domain ("Intune Issues" read as "Intune", as a team lead would
merge them), then, if that gives too few, the smallest remaining domains onto the
largest. The checks compare the tabs' answers with aliases to those without: a merged
domain's counts are the sums of its keys', an alias's key is no domain any more, and
what no domain feeds (totals, unmapped sessions, Flow Quality, PSA) does not move.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.metrics.keys import domain_key

# Fields that differ between two reads of one answer, never compared: the read's time, and
# the flow scores that decay with it (a few parts in 10^7 between two reads).
VOLATILE = frozenset({"asOf", "recencyScore", "qualityScore"})


def alias_pairs(domains: Sequence[Mapping[str, Any]], count: int) -> list[tuple[str, str]]:
    """Up to `count` (spelling, target) pairs from the overview's `domains` (name and
    sessionCount, largest first), of domains with sessions; mappings stay flat: no target
    is also a spelling, and no spelling is aliased twice."""
    names = {domain_key(d["name"]): d["name"] for d in domains if d["sessionCount"] > 0}
    ordered = [k for k in names if k is not None]
    spellings: dict[str, str] = {}  # alias key -> target key
    targets: set[str] = set()

    def take(alias: str, target: str) -> None:
        free = alias not in spellings and alias not in targets and target not in spellings
        if len(spellings) < count and free and alias != target:
            spellings[alias] = target
            targets.add(target)

    for key in ordered:  # "<domain> <qualifier>" onto "<domain>"
        head, _, _ = key.rpartition(" ")
        if head in names:
            take(key, head)
    for key in reversed(ordered):  # the smallest left onto the largest that may be a target
        target = next((t for t in ordered if t not in spellings and t != key), None)
        if target is not None and key not in targets:
            take(key, target)
    return [(names[alias], names[target]) for alias, target in spellings.items()]


def strip_volatile(value: Any) -> Any:
    """`value` (a decoded answer) without the VOLATILE fields, at any depth."""
    if isinstance(value, dict):
        return {k: strip_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    return value


def _by_key(domains: Iterable[Mapping[str, Any]], field: str) -> dict[str, int]:
    return {str(domain_key(d["name"])): int(d[field]) for d in domains}


def _merged(plain: Mapping[str, int], mapping: Mapping[str, str]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for key, value in plain.items():
        target = mapping.get(key, key)
        merged[target] = merged.get(target, 0) + value
    return merged


def _compare(what: str, expected: Mapping[str, int], got: Mapping[str, int]) -> list[str]:
    problems = [
        f"{what} {key!r}: expected {value}, got {got.get(key)}"
        for key, value in expected.items()
        if got.get(key) != value
    ]
    problems += [f"{what} {key!r}: not expected, got {got[key]}" for key in got.keys() - expected]
    return problems


def merge_problems(
    without: Mapping[str, Any], with_aliases: Mapping[str, Any], pairs: Sequence[tuple[str, str]]
) -> list[str]:
    """What in the tabs' answers with the `pairs` defined (by tab: overview, coverage,
    flow-quality, psa, each `data`) is not the answers without them, merged; empty when
    all is as expected."""
    mapping = {str(domain_key(s)): str(domain_key(t)) for s, t in pairs}
    plain, aliased = without["overview"]["overview"], with_aliases["overview"]["overview"]
    problems = _compare(
        "overview sessionCount",
        _merged(_by_key(plain["domains"], "sessionCount"), mapping),
        _by_key(aliased["domains"], "sessionCount"),
    )
    plain, aliased = without["coverage"]["coverage"], with_aliases["coverage"]["coverage"]
    for field in ("sessionCount", "flowCount"):
        problems += _compare(
            f"coverage {field}",
            _merged(_by_key(plain["domains"], field), mapping),
            _by_key(aliased["domains"], field),
        )
    for tab, field in (("overview", "sessionCount"), ("coverage", "unmappedSessionCount")):
        before = without[tab][tab][field]
        after = with_aliases[tab][tab][field]
        if before != after:
            problems.append(f"{tab} {field}: {before} without aliases, {after} with")
    for tab in ("flow-quality", "psa"):
        if strip_volatile(without[tab]) != strip_volatile(with_aliases[tab]):
            problems.append(f"{tab}: the answer changed with aliases")
    return problems
