"""Dataset sizes: how many accounts and sessions, and the named big accounts of each scale.

The named accounts make the cost-growth measurement possible (accounts of about 10k, 100k
and 1M sessions exist at L); the rest of the sessions are spread log-normally over the
other accounts, so most tenants are small and a few are large.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountSpec:
    """One account's size: sessions over the history, flows and problem domains."""

    sessions: int
    flows: int
    domains: int


@dataclass(frozen=True)
class Scale:
    name: str
    accounts: int
    sessions: int
    days: int
    named: tuple[AccountSpec, ...]

    def account_specs(self, weights: list[float]) -> list[AccountSpec]:
        """The named accounts, then the others sized by `weights` (one per other account)."""
        rest = self.sessions - sum(spec.sessions for spec in self.named)
        total = sum(weights)
        sizes = [max(20, int(rest * weight / total)) for weight in weights]
        sizes[0] += rest - sum(sizes)
        return list(self.named) + [
            AccountSpec(size, min(400, max(8, size // 150)), min(60, max(6, int(size**0.33))))
            for size in sizes
        ]


SCALES = {
    "XS": Scale("XS", 3, 3_000, 120, (AccountSpec(1_500, 30, 10),)),
    "S": Scale("S", 20, 100_000, 400, (AccountSpec(30_000, 400, 40), AccountSpec(10_000, 100, 25))),
    "M": Scale(
        "M",
        200,
        1_000_000,
        400,
        (
            AccountSpec(200_000, 2_000, 80),
            AccountSpec(100_000, 600, 50),
            AccountSpec(10_000, 100, 25),
        ),
    ),
    "L": Scale(
        "L",
        500,
        5_000_000,
        400,
        (
            AccountSpec(1_500_000, 5_000, 120),
            AccountSpec(1_000_000, 3_000, 100),
            AccountSpec(100_000, 600, 50),
            AccountSpec(10_000, 100, 25),
        ),
    ),
}
