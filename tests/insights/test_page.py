"""The insights page as the server serves it: routes, headers, the demo token, its operations."""

from __future__ import annotations

import re
import tomllib
import uuid
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from core.auth import verify_token
from core.settings import Settings
from persistence.operations.demo_seed import DEMO_ACCOUNT_ID, DEMO_TEAM_ADMIN_ID
from queries import PAGE_DOCUMENTS, TAB_DOCUMENTS, query_document, tab_query
from service.insights.operations import page_operations
from service.insights.page import STATIC_DIR, insights_page_enabled
from service.pipeline.persisted_queries import sha256_hex
from tests.graphql_client import running_app, settings_for_tests, token_for

DEMO_META = re.compile(r'<meta name="flowpilot-demo-authorization" content="Bearer ([^"]+)"')


def test_operations_are_the_query_documents_by_their_hash() -> None:
    operations = page_operations()
    assert set(operations) == {
        "OverviewTab",
        "CoverageTab",
        "FlowQualityTab",
        "PsaTab",
        "SessionEvidence",
        "PsaActivityEvidence",
        "DomainAliases",
        "AddDomainAlias",
        "RemoveDomainAlias",
    }
    assert sorted(op["document"] for op in operations.values()) == sorted(
        [tab_query(tab) for tab in TAB_DOCUMENTS] + [query_document(n) for n in PAGE_DOCUMENTS]
    )
    for operation in operations.values():
        assert operation["sha256Hash"] == sha256_hex(operation["document"])


async def test_safelist_mode_runs_each_operation_by_the_hash_the_page_sends(
    database_url: str,
) -> None:
    """Through the HTTP endpoint, so the check holds however the safelist matches inside.
    The mutations run too: on an account without that domain they are refused by the
    resolver (nothing to alias), which only a known document reaches."""
    settings = settings_for_tests(database_url, persisted_queries_safelist=True)
    refusals = {"AddDomainAlias": "UNKNOWN_DOMAIN", "RemoveDomainAlias": "NOT_FOUND"}
    async with running_app(settings) as api:
        for name, operation in page_operations().items():
            variables = (
                {"spelling": "M365", "target": "Microsoft 365"}
                if name in refusals
                else {"period": "LAST_7_DAYS"}
            )
            body = {
                "operationName": name,
                "variables": variables,
                "extensions": {
                    "persistedQuery": {"version": 1, "sha256Hash": operation["sha256Hash"]}
                },
            }
            headers = {"Authorization": f"Bearer {token_for(uuid.uuid4())}"}
            answer = (await api.http.post("/graphql", json=body, headers=headers)).json()
            if name in refusals:
                codes = [error["extensions"]["code"] for error in answer["errors"]]
                assert codes == [refusals[name]], (name, answer)
                continue
            assert "errors" not in answer, (name, answer)
            assert answer["data"], name


def test_the_page_follows_graphiql_unless_insights_page_is_set() -> None:
    assert insights_page_enabled(Settings(graphiql=True))
    assert not insights_page_enabled(Settings(graphiql=False))
    assert insights_page_enabled(Settings(graphiql=False, insights_page=True))
    assert not insights_page_enabled(Settings(graphiql=True, insights_page=False))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"GRAPHIQL_ENABLED": "true"}, True),
        ({"INSIGHTS_PAGE": "on"}, True),
        ({"GRAPHIQL_ENABLED": "true", "INSIGHTS_PAGE": "off"}, False),
    ],
)
def test_insights_page_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db:5432/flowpilot")
    monkeypatch.setenv("AUTH_JWT_SECRET", "a-secret-for-this-test-only-0123456789")
    for name in ("GRAPHIQL_ENABLED", "INSIGHTS_PAGE", "FLOWPILOT_DEMO"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert insights_page_enabled(Settings.from_env()) is expected


def test_a_bad_insights_page_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_PAGE", "maybe")
    with pytest.raises(ValueError, match="INSIGHTS_PAGE"):
        Settings.from_env()


PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_every_static_file_is_package_data() -> None:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["service.insights"]
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            relative = path.relative_to(STATIC_DIR.parent).as_posix()
            assert any(fnmatch(relative, pattern) for pattern in patterns), relative


def test_the_assets_load_nothing_from_elsewhere() -> None:
    """No CDN, no inline script: everything comes from the service under its CSP."""
    for path in STATIC_DIR.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        urls = {url for url in urls if not url.startswith("http://127.0.0.1")}
        assert not urls, f"{path.name}: {urls}"
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert not re.search(r"\son[a-z]+=", page), "inline event handlers would need 'unsafe-inline'"


async def get(settings: Settings, path: str) -> Any:
    async with running_app(settings) as api:
        return await api.http.get(path)


async def test_the_page_has_a_strict_policy_and_no_token_outside_the_demo(
    database_url: str,
) -> None:
    async with running_app(settings_for_tests(database_url)) as api:
        page = await api.http.get("/")
        operations = await api.http.get("/insights/operations.json")
        script = await api.http.get("/insights/static/js/main.js")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["cache-control"] == "no-store"
    assert "flowpilot-demo-authorization" not in page.text
    assert "Bearer" not in page.text
    assert operations.json() == page_operations()
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["content-security-policy"] == policy


async def test_in_the_demo_the_page_carries_the_demo_team_admins_token(database_url: str) -> None:
    settings = settings_for_tests(database_url, demo=True)
    page = await get(settings, "/")
    found = DEMO_META.search(page.text)
    assert found, page.text[:500]
    principal = verify_token(found.group(1), settings)
    assert principal.account_id == DEMO_ACCOUNT_ID
    assert principal.role == "team_admin"
    assert principal.user_id == DEMO_TEAM_ADMIN_ID


async def test_every_module_the_page_imports_is_served(database_url: str) -> None:
    async with running_app(settings_for_tests(database_url)) as api:
        page = (await api.http.get("/")).text
        pending = re.findall(r'(?:src|href)="(/insights/static/[^"]+)"', page)
        seen: set[str] = set()
        while pending:
            path = pending.pop()
            if path in seen:
                continue
            seen.add(path)
            response = await api.http.get(path)
            assert response.status_code == 200, path
            if path.endswith(".js"):
                folder = path.rsplit("/", 1)[0]
                for module in re.findall(r'from "\./([^"]+)"', response.text):
                    pending.append(f"{folder}/{module}")
    assert len(seen) >= 10, seen


@pytest.mark.parametrize(
    "overrides", [{"graphiql": False}, {"graphiql": True, "insights_page": False}]
)
async def test_switched_off_the_page_is_not_served(
    database_url: str, overrides: dict[str, Any]
) -> None:
    settings = settings_for_tests(database_url, **overrides)
    async with running_app(settings) as api:
        assert (await api.http.get("/")).status_code == 404
        assert (await api.http.get("/insights/operations.json")).status_code == 404
        assert (await api.http.get("/insights/static/js/main.js")).status_code == 404


async def test_switched_on_without_graphiql_the_page_is_served(database_url: str) -> None:
    settings = settings_for_tests(database_url, graphiql=False, insights_page=True)
    assert (await get(settings, "/")).status_code == 200


async def test_the_metric_definitions_are_a_page_the_footer_links_to(database_url: str) -> None:
    async with running_app(settings_for_tests(database_url)) as api:
        page = (await api.http.get("/")).text
        metrics = await api.http.get("/insights/metrics")
    assert '<a href="/insights/metrics">' in page
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/html")
    assert metrics.headers["content-security-policy"].startswith("default-src 'none'")
    body = metrics.text
    assert "<h1>What each number means</h1>" in body
    assert "<h2>Fair comparisons</h2>" in body
    # Markdown tables become HTML tables; raw HTML in the document is never passed through.
    assert "<th>field</th>" in body and "<td>shareBeforeData</td>" in body
    assert "<script" not in body


async def test_a_fresh_demo_token_is_served_in_the_demo_only(database_url: str) -> None:
    demo = settings_for_tests(database_url, demo=True)
    async with running_app(demo) as api:
        answer = await api.http.post("/insights/demo-token")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    principal = verify_token(answer.json()["authorization"].removeprefix("Bearer "), demo)
    assert (principal.account_id, principal.role) == (DEMO_ACCOUNT_ID, "team_admin")
    async with running_app(settings_for_tests(database_url)) as api:
        assert (await api.http.post("/insights/demo-token")).status_code in (404, 405)


async def test_the_flow_editor_links_reach_the_page_only_when_set(database_url: str) -> None:
    editor = 'https://app.example.com/flows/{flowId}/edit?from="insights"'
    settings = settings_for_tests(
        database_url,
        insights_flow_editor_url=editor,
        insights_create_flow_url="/flows/new?category={domain}",
    )
    page = (await get(settings, "/")).text
    assert (
        '<meta name="flowpilot-flow-editor-url" content="https://app.example.com/flows/'
        '{flowId}/edit?from=&quot;insights&quot;" />'
    ) in page
    create = '<meta name="flowpilot-create-flow-url" content="/flows/new?category={domain}" />'
    assert create in page
    plain = (await get(settings_for_tests(database_url), "/")).text
    assert "flowpilot-flow-editor-url" not in plain and "flowpilot-create-flow-url" not in plain


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"insights_flow_editor_url": "https://app.example.com/flows"}, "must contain {flowId}"),
        ({"insights_flow_editor_url": "javascript:alert(1)//{flowId}"}, "http(s) URL or a path"),
        ({"insights_create_flow_url": "flows/new"}, "http(s) URL or a path"),
    ],
)
def test_link_templates_that_cannot_work_are_refused(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings(**overrides)
