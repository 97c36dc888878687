"""The day's people driven by `wrk` (C, epoll, LuaJIT): rates a Python client cannot offer
without becoming the bottleneck on the cores it shares with the server.

One wrk connection per person. The Lua script's `delay` draws the exponential think time
before every request (wrk calls it before a connection's first request too, so people
start staggered) and its `request` sends the next click of a plan drawn in Python from
the same people, seed and mix as the Python client (bench/day_mix.py): each person's
clicks, interleaved by when that person would send them. The figures to compare are
the server's (bench/server_log.py); wrk's own percentiles include its warm-up.
"""

from __future__ import annotations

import json
import resource
import subprocess
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from bench.day_mix import TABS, Person, clicks
from bench.wrk import TALLY_LUA
from queries import tab_query

_SCRIPT = (
    """
local docs = {docs}
local tokens = {tokens}
local plan = {plan}
local think_ms = {think_ms}
local next_click = 0
math.randomseed({seed})

function delay()
  return math.floor(-math.log(1 - math.random()) * think_ms)
end

function request()
  next_click = next_click % #plan + 1
  local click = plan[next_click]
  local body = '{{"query":' .. docs[click[1]] .. ',"variables":' .. click[3] .. '}}'
  return wrk.format("POST", "/graphql", {{
    ["Content-Type"] = "application/json",
    ["Authorization"] = tokens[click[2]],
  }}, body)
end
"""
    + TALLY_LUA
)


def _lua(value: str) -> str:
    # A JSON string literal is a valid Lua string literal for this text (printable ASCII,
    # \\n, \\" and \\\\ escapes), which is all a GraphQL body and a token hold here.
    return json.dumps(value, ensure_ascii=True)


def plan(
    persons: list[Person], think_s: float, seconds: float, today: date
) -> list[tuple[str, int, dict[str, Any]]]:
    """(tab, person index, variables) of every click people send in `seconds`, in the
    order they would send them; a person's clicks keep their own order."""
    timed: list[tuple[float, int, str, dict[str, Any]]] = []
    for index, person in enumerate(persons):
        at = 0.0
        for click in clicks(person, think_s, today):
            at += click.think_s
            if at > seconds:
                break
            timed.append((at, index, click.tab, click.variables))
    timed.sort(key=lambda entry: (entry[0], entry[1]))
    return [(tab, index, variables) for _at, index, tab, variables in timed]


def script(
    persons: list[Person],
    tokens: dict[Any, str],
    think_s: float,
    seconds: float,
    seed: int,
    today: date,
) -> str:
    """The Lua script for `persons` (tokens by account id)."""
    accounts = sorted({person.account_id for person in persons}, key=str)
    token_index = {account: position + 1 for position, account in enumerate(accounts)}
    entries = [
        f"{{{TABS.index(tab) + 1},{token_index[persons[index].account_id]},"
        f"{_lua(json.dumps(variables, separators=(',', ':')))}}}"
        for tab, index, variables in plan(persons, think_s, seconds, today)
    ]
    if not entries:
        raise ValueError("no clicks in the plan: more seconds or people, or less think time")
    docs = "{" + ",".join(_lua(json.dumps(tab_query(tab))) for tab in TABS) + "}"
    return _SCRIPT.format(
        docs=docs,
        tokens="{" + ",".join(_lua(f"Bearer {tokens[a]}") for a in accounts) + "}",
        plan="{" + ",\n".join(entries) + "}",
        think_ms=think_s * 1000,
        seed=seed,
    )


def run(wrk: str, base_url: str, lua: str, connections: int, seconds: float) -> dict[str, Any]:
    """wrk with one thread and a connection per person for `seconds`; its summary line and
    the CPU seconds it used."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua)
        path = Path(handle.name)
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
             "-s", str(path), f"{base_url}/graphql"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        path.unlink(missing_ok=True)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {process.stderr.strip()[:300]}")
    for line in process.stdout.splitlines():
        if line.startswith('{"wrk":1'):
            summary: dict[str, Any] = json.loads(line)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            summary["cpu_s"] = cpu
            return summary
    raise RuntimeError(f"wrk printed no summary: {process.stdout.strip()[:300]}")
