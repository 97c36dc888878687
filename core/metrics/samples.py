"""When a flow's figures rest on too few sessions to be ranked against others'."""

from __future__ import annotations

# Below 10 matched sessions one outcome moves a success rate by more than 10 points:
# 8 uses at 100% says little next to 200 uses at 92%.
SMALL_SAMPLE_USAGE = 10
