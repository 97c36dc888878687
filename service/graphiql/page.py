"""The developer GraphiQL page: the four tab queries open as tabs, ready to run.

Every script and style comes from the service itself (/static/, shipped with the package
and integrity-checked), so the page works offline and under a strict CSP.

In the embedded demo only, each tab also carries the demo team admin's
`Authorization` header, so the page answers with the demo data at the first click.
Outside demo mode no token is ever written into the page.
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.auth import issue_token
from core.settings import Settings
from persistence.operations.demo_seed import DEMO_ACCOUNT_ID, DEMO_TEAM_ADMIN_ID
from queries import TAB_DOCUMENTS, tab_query
from service.graphiql.assets import assets

_PAGE = """<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>FlowPilot Analytics GraphiQL</title>
    <link rel="stylesheet" href="/static/graphiql.min.css" integrity="__SRI_graphiql.min.css__" />
    <link rel="stylesheet" href="/static/graphiql-page.css" integrity="__SRI_graphiql-page.css__" />
    <script src="/static/react.production.min.js"
      integrity="__SRI_react.production.min.js__"></script>
    <script src="/static/react-dom.production.min.js"
      integrity="__SRI_react-dom.production.min.js__"></script>
  </head>
  <body>
    <div id="graphiql">Loading...</div>
    <script type="application/json" id="graphiql-config">__CONFIG__</script>
    <script src="/static/graphiql.min.js" integrity="__SRI_graphiql.min.js__"></script>
    <script src="/static/graphiql-boot.js" integrity="__SRI_graphiql-boot.js__"></script>
  </body>
</html>
"""

# Everything from the service itself; GraphiQL's editor sets inline styles and its fonts
# are data: URLs. No inline script runs (the configuration is a JSON data block).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


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
    page = _PAGE.replace("__CONFIG__", _script_json({"tabs": tabs, "headers": headers}))
    return re.sub(r"__SRI_([\w.-]+)__", lambda match: assets()[match[1]].integrity, page)
