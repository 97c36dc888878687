"""The hit path's load generator: `wrk` when it is on PATH, else the Python client.

A Python client (httpx on asyncio) spends about as much CPU per request as a cache hit
costs the server, and the two share this machine's cores: at 32 clients it is the load
generator, not the server, that runs out of CPU. `wrk` (C, one thread, epoll) costs a
small fraction of that. The Lua script posts one GraphQL body with the bearer token and
counts as an error every response that is not 200 or whose body has `errors`; its
`done` hook prints one JSON line that `wrk_throughput` reads. The CPU the generator
used is measured either way (`client_cpu_ms_per_request`), so a report can say what
share of the cores it took.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load import throughput

# The failure tally and the one JSON line `wrk_throughput` reads, shared by every script
# (a format template: braces doubled).
TALLY_LUA = """
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  failures = 0
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors":', 1, true) then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("failures")
  end
  local e = summary.errors
  io.write(string.format(
    '{{"wrk":1,"completed":%d,"duration_us":%d,"failures":%d,"socket_errors":%d,'
    .. '"p50_us":%d,"p95_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, failed,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""

_SCRIPT = (
    """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {authorization}

"""
    + TALLY_LUA
)


def wrk_path() -> str | None:
    """`wrk` on PATH (Debian: `apt-get install wrk`), or None."""
    return shutil.which("wrk")


def _lua_string(value: str) -> str:
    # A JSON string literal is a valid Lua string literal for this text (printable ASCII,
    # \\n, \\" and \\\\ escapes), which is all a GraphQL body and a token hold here.
    return json.dumps(value, ensure_ascii=True)


def _run_wrk(wrk: str, url: str, script: Path, concurrency: int, seconds: float) -> dict[str, Any]:
    """The JSON line of the script's `done` hook."""
    process = subprocess.Popen(
        [wrk, "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
         "-s", str(script), url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    stdout, stderr = process.communicate()  # reaped: its CPU is in RUSAGE_CHILDREN now
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip()[:300]}")
    for line in stdout.splitlines():
        if line.startswith('{"wrk":1'):
            summary: dict[str, Any] = json.loads(line)
            return summary
    raise RuntimeError(f"wrk printed no summary: {stdout.strip()[:300]}")


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(
    wrk: str, url: str, script_text: str, concurrency: int, seconds: float
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """A 1 s warm-up, the measured run, and the CPU seconds wrk used in the latter."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script_text)
        script = Path(handle.name)
    try:
        warm = _run_wrk(wrk, url, script, concurrency, 1)
        cpu_before = _children_cpu_s()
        figures = _run_wrk(wrk, url, script, concurrency, seconds)
        return warm, figures, _children_cpu_s() - cpu_before
    finally:
        script.unlink(missing_ok=True)


async def wrk_throughput(
    wrk: str, base_url: str, token: str, body: dict[str, Any], concurrency: int, seconds: float
) -> dict[str, Any]:
    """The same figures as `bench.load.throughput`, measured by wrk after a 1 s warm-up."""
    script = _SCRIPT.format(
        body=_lua_string(json.dumps(body)), authorization=_lua_string(f"Bearer {token}")
    )
    warm, figures, cpu = await asyncio.to_thread(
        _measure, wrk, f"{base_url}/graphql", script, concurrency, seconds
    )
    measured_s = figures["duration_us"] / 1e6
    errors = warm["failures"] + warm["socket_errors"] + figures["failures"]
    errors += figures["socket_errors"]
    good = figures["completed"] - figures["failures"] - figures["socket_errors"]
    return {
        "client": "wrk",
        "concurrency": concurrency,
        "seconds": measured_s,
        "requests": figures["completed"],
        "errors": errors,
        "error_kinds": {
            "not 200 or errors": warm["failures"] + figures["failures"],
            "socket": warm["socket_errors"] + figures["socket_errors"],
        },
        "rps": good / measured_s,
        "p50_ms": figures["p50_us"] / 1000,
        "p95_ms": figures["p95_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "client_cpu_ms_per_request": cpu / figures["completed"] * 1000
        if figures["completed"]
        else None,
    }


async def hit_load(
    base_url: str, token: str, body: dict[str, Any], concurrency: int, seconds: float
) -> dict[str, Any]:
    """wrk when installed, else the Python client (whose CPU is this process's)."""
    wrk = None if os.environ.get("BENCH_NO_WRK") else wrk_path()
    if wrk is not None:
        return await wrk_throughput(wrk, base_url, token, body, concurrency, seconds)
    cpu_before = time.process_time()
    figures = await throughput(base_url, token, body, concurrency, seconds)
    # throughput() warms up for min(1, seconds / 5) s before its window: count the window's.
    cpu = (time.process_time() - cpu_before) * seconds / (seconds + min(1.0, seconds / 5))
    figures["client"] = "python (httpx)"
    figures["client_cpu_ms_per_request"] = (
        cpu / figures["requests"] * 1000 if figures["requests"] else None
    )
    return figures
