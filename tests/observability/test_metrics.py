"""/metrics scraped after known requests: counters move by exactly what was sent."""

from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from queries import tab_query
from service.observability.requests import observe_job
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, token_for


async def scrape(api: ApiClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_request_counter_and_latency_by_operation_and_outcome(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    token = token_for(account.account_id)
    query = tab_query("overview")
    before = await scrape(api)
    for _ in range(3):
        await api.data(query, token=token)
    for _ in range(2):
        await api.execute(query)  # no token
    engineer = token_for(account.account_id, "engineer")
    await api.execute(query, token=engineer)
    after = await scrape(api)

    ok = {"operation": "OverviewTab", "outcome": "ok"}
    unauthenticated = {"operation": "OverviewTab", "outcome": "UNAUTHENTICATED"}
    forbidden = {"operation": "OverviewTab", "outcome": "FORBIDDEN"}

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("flowpilot_requests_total", **ok) == 3
    assert delta("flowpilot_requests_total", **unauthenticated) == 0  # the name was not sent
    assert delta("flowpilot_requests_total", operation="other", outcome="UNAUTHENTICATED") == 2
    assert delta("flowpilot_requests_total", **forbidden) == 1
    assert delta("flowpilot_request_duration_seconds_count", **ok) == 3
    assert delta("flowpilot_request_duration_seconds_bucket", le="+Inf", **ok) == 3


async def test_only_known_operations_become_labels(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    token = token_for(account.account_id)
    names = [f"Probe{uuid.uuid4().hex}" for _ in range(5)]
    for name in names:
        query = f"query {name} {{ overview(period: LAST_7_DAYS) {{ sessionCount }} }}"
        await api.http.post("/graphql", json={"query": query, "operationName": name})
        await api.data(query, token=token)
    await api.http.post(
        "/graphql", json={"query": tab_query("psa"), "operationName": "PsaTab"}
    )  # a first-party name, but no token
    samples = await scrape(api)
    labels = {dict(key[1]).get("operation") for key in samples}
    assert not any(name in labels for name in names)
    assert value(samples, "flowpilot_requests_total", operation="PsaTab", outcome="UNAUTHENTICATED")


async def test_export_and_probe_routes_are_counted_under_their_own_names(api: ApiClient) -> None:
    before = await scrape(api)
    await api.http.get("/healthz")
    await api.http.get("/export/overview.csv")  # no token: 401
    after = await scrape(api)
    healthz = {"operation": "/healthz", "outcome": "ok"}
    export = {"operation": "export:overview", "outcome": "UNAUTHENTICATED"}
    assert (
        value(after, "flowpilot_requests_total", **healthz)
        - value(before, "flowpilot_requests_total", **healthz)
        == 1
    )
    assert (
        value(after, "flowpilot_requests_total", **export)
        - value(before, "flowpilot_requests_total", **export)
        == 1
    )


async def test_pool_gauges_and_job_metrics(api: ApiClient) -> None:
    job = f"test_job_{uuid.uuid4().hex[:8]}"
    observe_job(job, 0.2, True)
    observe_job(job, 3.0, False)
    samples = await scrape(api)
    assert value(samples, "flowpilot_job_runs_total", job=job, outcome="ok") == 1
    assert value(samples, "flowpilot_job_runs_total", job=job, outcome="error") == 1
    assert value(samples, "flowpilot_job_duration_seconds_count", job=job) == 2
    assert value(samples, "flowpilot_job_duration_seconds_sum", job=job) == 3.2
    assert value(samples, "flowpilot_job_duration_seconds_bucket", job=job, le="0.5") == 1
    # The scrape itself holds no connection; idle connections are whatever the pool keeps.
    assert value(samples, "flowpilot_db_pool_connections", pool="primary", state="checked_out") == 0
    assert (
        "flowpilot_db_pool_connections",
        frozenset({("pool", "primary"), ("state", "idle")}),
    ) in samples
