"""`python -m bench generate|run|report`: see docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
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
    versus = commands.add_parser(
        "versus", help="CPU per request of another checkout and this one, side by side"
    )
    versus.add_argument("--baseline", required=True, help="the other checkout's directory")
    versus.add_argument("--database-url", required=True, help="a generated benchmark database")
    versus.add_argument("--rounds", type=int, default=3)
    versus.add_argument("--repetitions", type=int, default=20)
    versus.add_argument("--period", default="LAST_30_DAYS")
    versus.add_argument("--output", default=None, help="also write the table to this file")
    versus.add_argument(
        "--http", action="store_true", help="through the whole app: a cache hit and a miss"
    )
    adopt = commands.add_parser(
        "adopt", help="turn a generated dataset into the product's database and adopt it"
    )
    adopt.add_argument("--scale", choices=list(SCALES), required=True)
    adopt.add_argument("--database-url", default=None)
    live = commands.add_parser(
        "migrate-live",
        help="migrate a generated dataset made the product's database while product writers work",
    )
    live.add_argument("--scale", choices=list(SCALES), required=True)
    live.add_argument("--database-url", default=None)
    live.add_argument("--quiet-seconds", type=float, default=60.0)
    live.add_argument(
        "--build-accounts",
        type=int,
        default=None,
        help="build only this many of the queued accounts (every n-th by id; default all)",
    )
    live.add_argument(
        "--build-chunk",
        type=int,
        default=None,
        metavar="N",
        help="build in chunks of exactly N sessions (`migrate --chunk N`), as before chunks "
        "were sized by time; default: sized by ROLLUP_BUILD_CHUNK_TARGET_MS",
    )
    live.add_argument(
        "--keep-rls",
        action="store_true",
        help="leave the generated tables' row-level security (default: the product has none)",
    )
    live.add_argument("--sessions-per-s", type=float, default=20.0)
    live.add_argument("--resolves-per-s", type=float, default=20.0)
    live.add_argument("--psa-per-s", type=float, default=10.0)
    live.add_argument("--reads-per-s", type=float, default=10.0)
    evidence = commands.add_parser(
        "evidence", help="the first page of every evidence filter over HTTP, largest account"
    )
    evidence.add_argument("--database-url", required=True, help="a generated database")
    evidence.add_argument("--period", default="LAST_90_DAYS")
    evidence.add_argument("--repetitions", type=int, default=40)
    evidence.add_argument("--output", default=None, help="also write the results JSON here")
    evidence.add_argument(
        "--server-checkout",
        default=None,
        help="serve this checkout's code instead (e.g. the commit before, on its schema)",
    )
    aliases = commands.add_parser(
        "aliases", help="every tab over HTTP without and with domain aliases, largest account"
    )
    aliases.add_argument(
        "--database-url", required=True, help="a copy of a generated database, at head"
    )
    aliases.add_argument("--period", default="LAST_90_DAYS")
    aliases.add_argument("--rounds", type=int, default=10, help="each side once per round")
    aliases.add_argument("--repetitions", type=int, default=20, help="per tab, side and round")
    aliases.add_argument("--aliases", type=int, default=20, help="how many to define")
    aliases.add_argument("--output", default=None, help="also write the results JSON here")
    day = commands.add_parser(
        "day", help="a realistic day of dashboard traffic: cache off, in-process, Redis"
    )
    day.add_argument("--database-url", default=None, help="a generated database (default S)")
    day.add_argument("--modes", default="off,memory,redis")
    day.add_argument("--workers", default="1,2")
    day.add_argument("--viewers", type=int, default=40, help="team leads across the accounts")
    day.add_argument("--seconds", type=float, default=30.0, help="measured time per run")
    day.add_argument("--warmup", type=float, default=5.0)
    day.add_argument("--think", type=float, default=1.0, help="mean seconds between clicks")
    day.add_argument("--writes-per-s", type=float, default=10.0)
    day.add_argument("--hit-seconds", type=float, default=5.0)
    day.add_argument(
        "--poll-share", type=float, default=0.25, help="share of dashboards left polling"
    )
    day.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    day.add_argument("--seed", type=int, default=1)
    day.add_argument("--output", default=None, help="results JSON (default bench/results/day.json)")
    day.add_argument("--skip-day", action="store_true", help="only the hit path (with --baseline)")
    day.add_argument(
        "--baseline", default=None, help="another checkout: its hit path beside this one's"
    )
    day.add_argument(
        "--baseline-uvicorn-args",
        default="",
        help="uvicorn options for the baseline's server, e.g. '--loop asyncio --http h11' "
        "for a checkout whose install has no uvloop or httptools",
    )
    day.add_argument("--versus-rounds", type=int, default=2)
    day.add_argument(
        "--generator",
        choices=("python", "wrk"),
        default="python",
        help="who sends the clicks: one shared httpx client, or wrk with a Lua script",
    )
    capacity = commands.add_parser(
        "capacity",
        help="the offered rate at which the day's p95 crosses a bound (wrk), side by side",
    )
    capacity.add_argument("--database-url", required=True, help="a generated database (L)")
    capacity.add_argument("--baseline", default=None, help="another checkout, measured beside")
    capacity.add_argument("--modes", default="off,memory")
    capacity.add_argument("--workers", type=int, default=2)
    capacity.add_argument("--viewers", type=int, default=500)
    capacity.add_argument("--bound-ms", type=float, default=50.0, help="the p95 bound")
    capacity.add_argument("--start-rps", type=float, default=100.0)
    capacity.add_argument("--growth", type=float, default=1.25, help="rate factor per step")
    capacity.add_argument("--bisections", type=int, default=2)
    capacity.add_argument("--max-rps", type=float, default=1000.0)
    capacity.add_argument("--seconds", type=float, default=20.0, help="measured time per step")
    capacity.add_argument("--warmup", type=float, default=5.0)
    capacity.add_argument("--writes-per-s", type=float, default=10.0)
    capacity.add_argument("--seed", type=int, default=1)
    capacity.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    capacity.add_argument("--output", default=None, help="default bench/results/capacity.json")
    cost = commands.add_parser(
        "write-cost", help="what the data-version triggers add to a write (side by side)"
    )
    cost.add_argument("--database-url", required=True, help="a generated benchmark database")
    cost.add_argument("--rounds", type=int, default=4)
    cost.add_argument("--writes", type=int, default=150)
    chunked = commands.add_parser(
        "chunked-build", help="a product write's longest wait while one account's rollups build"
    )
    chunked.add_argument("--database-url", required=True, help="a scratch database at head")
    chunked.add_argument("--sessions", type=int, default=1_500_000)
    chunked.add_argument("--activities", type=int, default=2, help="PSA rows per session")
    chunked.add_argument(
        "--chunk",
        type=int,
        default=None,
        help="sessions per chunk (default: sized by ROLLUP_BUILD_CHUNK_TARGET_MS, 200 ms)",
    )
    chunked.add_argument(
        "--others", type=int, default=0, help="sessions of another account beside it"
    )
    chunked.add_argument(
        "--no-whole", action="store_true", help="leave out the one-transaction build"
    )
    chunked.add_argument(
        "--account", type=uuid.UUID, default=None, help="build this account, already there"
    )
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
    if args.command == "adopt":
        from bench.adoption import adopt_dataset
        from bench.report import save_adoption

        adopted = asyncio.run(adopt_dataset(args.scale, args.database_url))
        save_adoption(adopted.as_dict(), " ".join(["python -m bench", *sys.argv[1:]]))
        summary = {k: v for k, v in adopted.as_dict().items() if k != "batches"}
        print(json.dumps(summary, indent=2))
        return 0
    if args.command == "migrate-live":
        from bench.live_migration import live_migration
        from bench.live_migration import table as phase_table
        from bench.product_load import LoadOptions
        from bench.report import save_live_migration

        load = LoadOptions(
            args.sessions_per_s, args.resolves_per_s, args.psa_per_s, args.reads_per_s
        )
        live_report = asyncio.run(
            live_migration(
                args.scale,
                args.database_url,
                quiet_s=args.quiet_seconds,
                keep_rls=args.keep_rls,
                build_accounts=args.build_accounts,
                build_chunk=args.build_chunk,
                options=load,
            )
        )
        save_live_migration(live_report, " ".join(["python -m bench", *sys.argv[1:]]))
        print(phase_table(live_report))
        print(json.dumps({k: v for k, v in live_report.items() if k != "phases"}, indent=2))
        return 0
    if args.command == "run":
        from bench.run import RunOptions, run

        options = RunOptions.from_args(args, " ".join(["python -m bench", *sys.argv[1:]]))
        asyncio.run(run(options))
        return 0
    if args.command == "evidence":
        from bench.evidence import main as evidence_main

        return evidence_main(args)
    if args.command == "aliases":
        from bench.aliases import main as aliases_main

        return aliases_main(args)
    if args.command == "day":
        from bench.day import main as day_main

        return day_main(args, " ".join(["python -m bench", *sys.argv[1:]]))
    if args.command == "capacity":
        from pathlib import Path

        from bench.capacity import CapacityOptions, run_capacity

        capacity_options = CapacityOptions(
            database_url=args.database_url,
            command=" ".join(["python -m bench", *sys.argv[1:]]),
            baseline=Path(args.baseline).resolve() if args.baseline else None,
            modes=tuple(args.modes.split(",")),
            workers=args.workers,
            viewers=args.viewers,
            bound_ms=args.bound_ms,
            start_rps=args.start_rps,
            growth=args.growth,
            bisections=args.bisections,
            max_rps=args.max_rps,
            seconds=args.seconds,
            warmup_s=args.warmup,
            writes_per_s=args.writes_per_s,
            seed=args.seed,
            redis_url=args.redis_url,
            output=Path(args.output) if args.output else None,
        )
        asyncio.run(run_capacity(capacity_options))
        return 0
    if args.command == "chunked-build":
        from bench.chunked_build import measure
        from core.settings import checked_setting
        from persistence.chunk_sizing import ChunkSizing

        sizing = (
            ChunkSizing.fixed(args.chunk)
            if args.chunk
            else ChunkSizing.targeting(checked_setting("rollup_build_chunk_target_ms"))
        )
        measured = asyncio.run(
            measure(
                args.database_url,
                args.sessions,
                args.activities,
                sizing,
                args.others,
                whole_too=not args.no_whole,
                existing=args.account,
            )
        )
        print(json.dumps(measured.as_dict(), indent=2))
        return 0
    if args.command == "write-cost":
        from bench.write_cost import main as write_cost_main

        return write_cost_main(args.database_url, args.rounds, args.writes)
    if args.command == "versus":
        from pathlib import Path

        from bench.versus import compare, table

        rows = compare(
            Path(args.baseline),
            args.database_url,
            rounds=args.rounds,
            repetitions=args.repetitions,
            period=args.period,
            http=args.http,
        )
        report = table(rows, args.period, Path(args.baseline), http=args.http)
        print(report)
        if args.output:
            command = " ".join(["python -m bench", *sys.argv[1:]])
            Path(args.output).write_text(
                f"Generated by `{command}`; do not edit by hand.\n\n{report}\n", encoding="utf-8"
            )
        return 0
    from bench.report import write_docs

    write_docs(args.docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
