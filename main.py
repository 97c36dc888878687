"""FlowPilot Analytics API: `python main.py --help`."""

from __future__ import annotations

import sys


def _main() -> int:
    try:
        from service.cli.main import main
    except ImportError as error:
        print(
            f"error: {error}; install the project first: pip install -e '.[test]'",
            file=sys.stderr,
        )
        return 1
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_main())
