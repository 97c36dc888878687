"""Routes of the insights page: the HTML at `/`, its static assets and its operations.

Everything the page loads comes from this service under a strict Content-Security-Policy
(no inline script, no other origin). The demo team admin's token is written into the page
only in the embedded demo, as GraphiQL does; elsewhere the page asks for a token.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import Settings
from service.graphiql.page import demo_authorization
from service.http.limits import json_refusal
from service.insights.metrics_page import metrics_page_html
from service.insights.operations import page_operations

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEMO_MARKER = "<!-- demo-authorization -->"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def insights_page_enabled(settings: Settings) -> bool:
    """The page is served with GraphiQL unless INSIGHTS_PAGE says otherwise."""
    return settings.graphiql if settings.insights_page is None else settings.insights_page


class _SecurityHeaders:
    """Adds the page's security headers to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _meta(name: str, value: str) -> str:
    return f'<meta name="{name}" content="{html.escape(value, quote=True)}" />'


def page_html(settings: Settings) -> str:
    """index.html, with the demo team admin's Authorization value in demo mode only, and
    the flow editor's link templates when they are set."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    metas = []
    if settings.demo:
        metas.append(_meta("flowpilot-demo-authorization", demo_authorization(settings)))
    if settings.insights_flow_editor_url:
        metas.append(_meta("flowpilot-flow-editor-url", settings.insights_flow_editor_url))
    if settings.insights_create_flow_url:
        metas.append(_meta("flowpilot-create-flow-url", settings.insights_create_flow_url))
    return page.replace(DEMO_MARKER, "\n    ".join(metas))


def insights_routes(settings: Settings) -> list[BaseRoute]:
    """The page's routes, or none when the page is switched off."""
    if not insights_page_enabled(settings):
        return []

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page_html(settings), headers={"Cache-Control": "no-store"})

    async def operations(request: Request) -> JSONResponse:
        return JSONResponse(page_operations(), headers={"Cache-Control": "no-cache"})

    async def demo_token(request: Request) -> JSONResponse:
        # A fresh demo team admin token, as a reload of the demo page carries: the page
        # asks for it after the API refused the one it had (expired, or pasted wrong).
        return JSONResponse(
            {"authorization": demo_authorization(settings)}, headers={"Cache-Control": "no-store"}
        )

    async def metrics(request: Request) -> Response:
        page = metrics_page_html()
        if page is None:
            return json_refusal(404, "the metric definitions are not installed here")
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    demo_routes = (
        [
            Route(
                "/insights/demo-token",
                _SecurityHeaders(request_response(demo_token)),
                methods=["POST"],
            )
        ]
        if settings.demo
        else []
    )
    return [
        *demo_routes,
        Route("/insights/metrics", _SecurityHeaders(request_response(metrics)), methods=["GET"]),
        Route("/", _SecurityHeaders(request_response(index)), methods=["GET"]),
        Route(
            "/insights/operations.json",
            _SecurityHeaders(request_response(operations)),
            methods=["GET"],
        ),
        Mount("/insights/static", _SecurityHeaders(StaticFiles(directory=STATIC_DIR))),
    ]
