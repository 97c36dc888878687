"""`python -m bench generate|run|report`: see docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date

from bench.scales import SCALES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="build a scale's dataset")
    generate.add_argument("--scale", choices=list(SCALES), required=True)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--database-url", default=None)
    generate.add_argument(
        "--anchor",
        type=date.fromisoformat,
        default=None,
        help="the day after the last day of history (default: today, UTC)",
    )
    run = commands.add_parser("run", help="measure floor, API in process and over HTTP")
    run.add_argument("--scale", choices=list(SCALES), required=True)
    run.add_argument("--database-url", default=None)
    run.add_argument("--tabs", default=None, help="comma-separated, e.g. coverage,flow-quality")
    run.add_argument("--periods", default=None, help="comma-separated, e.g. LAST_90_DAYS")
    run.add_argument("--repetitions", type=int, default=30)
    run.add_argument(
        "--budget",
        type=float,
        default=8.0,
        help="stop repeating a measurement after this many seconds (min 5 runs)",
    )
    run.add_argument("--skip-http", action="store_true")
    run.add_argument("--skip-growth", action="store_true")
    run.add_argument("--load-seconds", type=float, default=5.0)
    run.add_argument(
        "--output", default=None, help="results JSON (default bench/results/<scale>.json)"
    )
    run.add_argument("--docs", default=None, help="page to regenerate (default docs/benchmarks.md)")
    report = commands.add_parser("report", help="regenerate docs/benchmarks.md from results")
    report.add_argument("--docs", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from bench.database import BenchError

    try:
        return _command(args)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _command(args: argparse.Namespace) -> int:
    if args.command == "generate":
        from bench.generate import generate
        from bench.report import save_generation

        result = asyncio.run(
            generate(args.scale, seed=args.seed, database_url=args.database_url, anchor=args.anchor)
        )
        save_generation(result.as_dict(), " ".join(["python -m bench", *sys.argv[1:]]))
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    if args.command == "run":
        from bench.run import RunOptions, run

        options = RunOptions.from_args(args, " ".join(["python -m bench", *sys.argv[1:]]))
        asyncio.run(run(options))
        return 0
    from bench.report import write_docs

    write_docs(args.docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
