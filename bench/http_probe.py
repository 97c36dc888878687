"""CPU per request through the whole app (the ASGI application called in process: no
client, no socket), a cache hit and a miss, for the checkout on PYTHONPATH.

Run by `python -m bench versus --http`, once per checkout and round, beside the other
checkout. It uses only what every version has (`create_app`, the settings, a token, the
tab documents), and prints one JSON object. A miss is a request whose key no earlier
request had (an extra variable the document does not declare, which execution ignores):
it looks up, executes and stores; a hit repeats one request whose answer is stored.

    PYTHONPATH=<checkout> python bench/http_probe.py <database url> <repetitions> <period>
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

# Run as a script, so its sibling is importable as a module of its own (not of `bench`,
# which on PYTHONPATH is the other checkout's).
from cpu_probe import probe_accounts, run

TABS = ("overview", "coverage")
SECRET = "bench-http-probe-secret-0123456789abcdef"


async def probe(url: str, repetitions: int, period: str) -> dict[str, Any]:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "AUTH_JWT_SECRET": SECRET,
            "FLOWPILOT_DEMO": "0",
            "GRAPHIQL_ENABLED": "0",
            "RATE_LIMIT_COST_PER_S": "0",
            "SUCCESS_RATE_RECALC_INTERVAL_S": "0",
            "ANALYTICS_CACHE": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("REDIS_URL", None)
    from core.auth import issue_token
    from core.settings import Settings
    from queries import tab_query
    from service.app import create_app

    accounts = await probe_accounts(url)
    settings = Settings.from_env()
    app = create_app(settings)
    nonce = [0]

    def request(account: Any, tab: str, fresh: bool) -> Callable[[], Awaitable[float]]:
        token = issue_token(settings, account_id=account, role="team_admin")
        variables: dict[str, Any] = {"period": period}

        async def once() -> float:
            if fresh:
                nonce[0] += 1
                variables["probeNonce"] = nonce[0]
            body = json.dumps({"query": tab_query(tab), "variables": variables}).encode()
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": "/graphql",
                "raw_path": b"/graphql",
                "root_path": "",
                "query_string": b"",
                "headers": [
                    (b"host", b"probe"),
                    (b"content-type", b"application/json"),
                    (b"authorization", f"Bearer {token}".encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
                "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 80),
            }
            sent: list[MutableMapping[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: MutableMapping[str, Any]) -> None:
                sent.append(message)

            started = time.process_time()
            await app(scope, receive, send)
            cpu = time.process_time() - started
            answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
            if sent[0]["status"] != 200 or b'"errors"' in answer:
                raise RuntimeError(f"{tab}: {sent[0]['status']} {answer[:200]!r}")
            return cpu

        return once

    medians: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        logging.getLogger().setLevel(logging.WARNING)
        for size, account in accounts.items():
            for tab in TABS:
                for kind, fresh in (("miss", True), ("hit", False)):
                    once = request(account, tab, fresh)
                    for _ in range(3):
                        await once()
                    samples = [await once() for _ in range(repetitions)]
                    medians[f"{size}/{tab}/{kind}"] = statistics.median(samples) * 1000
    return medians


if __name__ == "__main__":
    run(probe)
