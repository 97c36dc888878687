"""SQL fragments that read a domain key through the account's aliases (docs/metrics.md).

An alias maps a spelling's key onto a target key; a target is never itself an alias, so
one look-up maps any key to its domain. Every statement that uses these fragments keeps
one text whatever the aliases are (they are rows, read in the statement's snapshot), so
prepared statements and their plans stay, and an alias change shows in the next read.
Each fragment needs the `:account_id` parameter.
"""

from __future__ import annotations


def mapped_key(key: str) -> str:
    """SQL for the domain `key` (an expression) is counted under: its alias's target, else
    itself (NULL stays NULL)."""
    return (
        "coalesce((SELECT a.target_key FROM domain_aliases a"
        f" WHERE a.account_id = :account_id AND a.alias_key = {key}), {key})"
    )


def source_keys(target: str) -> str:
    """SQL for the keys whose rows a domain `target` (an expression, a key that is no alias)
    counts: itself and each key aliased to it. A set-returning subquery of one column `key`."""
    return (
        f"(SELECT {target} AS key UNION ALL SELECT a.alias_key FROM domain_aliases a"
        f" WHERE a.account_id = :account_id AND a.target_key = {target})"
    )


# The keys of the domain the parameter `:domain_key` names, itself an alias or not (the
# evidence's domain filter): the domain's target key, then every key aliased to it.
DOMAIN_OF_PARAMETER = source_keys(mapped_key("CAST(:domain_key AS text)"))
