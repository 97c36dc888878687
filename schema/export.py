"""Write the served SDL to `schema.graphql` at the top of the repo: `python -m schema.export`.

A test fails when the file and the served schema drift apart, so the file is always
what clients can rely on.
"""

from __future__ import annotations

import sys
from pathlib import Path

from schema.build import schema

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"


def served_sdl() -> str:
    return schema.as_str() + "\n"


def main() -> int:
    SDL_PATH.write_text(served_sdl(), encoding="utf-8")
    print(f"wrote {SDL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
