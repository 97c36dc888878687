"""Routes of the insights page: the HTML at `/`, its static assets and its operations.

Everything the page loads comes from this service under a strict Content-Security-Policy
(no inline script, no other origin). The demo team admin's token is written into the page
only in the embedded demo, as GraphiQL does; elsewhere the page asks for a token.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import Settings
from service.graphiql.page import demo_authorization
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


def page_html(settings: Settings) -> str:
    """index.html, with the demo team admin's Authorization value in demo mode only."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    meta = ""
    if settings.demo:
        value = html.escape(demo_authorization(settings), quote=True)
        meta = f'<meta name="flowpilot-demo-authorization" content="{value}" />'
    return page.replace(DEMO_MARKER, meta)


def insights_routes(settings: Settings) -> list[BaseRoute]:
    """The page's routes, or none when the page is switched off."""
    if not insights_page_enabled(settings):
        return []

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page_html(settings), headers={"Cache-Control": "no-store"})

    async def operations(request: Request) -> JSONResponse:
        return JSONResponse(page_operations(), headers={"Cache-Control": "no-cache"})

    return [
        Route("/", _SecurityHeaders(request_response(index)), methods=["GET"]),
        Route(
            "/insights/operations.json",
            _SecurityHeaders(request_response(operations)),
            methods=["GET"],
        ),
        Mount("/insights/static", _SecurityHeaders(StaticFiles(directory=STATIC_DIR))),
    ]
