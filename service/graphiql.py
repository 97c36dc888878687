"""The developer GraphiQL page: the four tab queries open as tabs, ready to run.

In the embedded demo only, each tab also carries the demo team admin's
`Authorization` header, so the page answers with the demo data at the first click.
Outside demo mode no token is ever written into the page.
"""

from __future__ import annotations

import json
from typing import Any

from persistence.demo_seed import DEMO_ACCOUNT_ID, DEMO_TEAM_ADMIN_ID
from queries import TAB_DOCUMENTS, tab_query
from service.auth import issue_token
from service.settings import Settings

_PAGE = """<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>FlowPilot Analytics GraphiQL</title>
    <style>
      body { height: 100%; margin: 0; width: 100%; overflow: hidden; }
      #graphiql { height: 100vh; display: flex; }
    </style>
    <script
      crossorigin
      src="https://unpkg.com/react@18.2.0/umd/react.production.min.js"
      integrity="sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"
    ></script>
    <script
      crossorigin
      src="https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js"
      integrity="sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"
    ></script>
    <link
      crossorigin
      rel="stylesheet"
      href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css"
      integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"
    />
  </head>
  <body>
    <div id="graphiql">Loading...</div>
    <script
      crossorigin
      src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js"
      integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"
    ></script>
    <script>
      const CONFIG = __CONFIG__;
      const fetcher = GraphiQL.createFetcher({ url: window.location.href.split("?")[0] });
      const root = ReactDOM.createRoot(document.getElementById("graphiql"));
      root.render(
        React.createElement(GraphiQL, {
          fetcher: fetcher,
          defaultTabs: CONFIG.tabs,
          defaultHeaders: CONFIG.headers,
          defaultEditorToolsVisibility: true,
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: false,
        }),
      );
    </script>
  </body>
</html>
"""


def _script_json(value: Any) -> str:
    """JSON that cannot close the surrounding <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def demo_authorization(settings: Settings) -> str:
    """The demo team admin's header value (a fresh token signed with the demo secret)."""
    token = issue_token(
        settings, account_id=DEMO_ACCOUNT_ID, role="team_admin", user_id=DEMO_TEAM_ADMIN_ID
    )
    return f"Bearer {token}"


def graphiql_html(settings: Settings) -> str:
    """The page, with the tab documents as tabs and, in demo mode only, the header."""
    headers = ""
    if settings.demo:
        headers = json.dumps({"Authorization": demo_authorization(settings)}, indent=2)
    tabs = [{"query": tab_query(tab), "headers": headers} for tab in TAB_DOCUMENTS]
    return _PAGE.replace("__CONFIG__", _script_json({"tabs": tabs, "headers": headers}))
