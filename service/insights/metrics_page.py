"""GET /insights/metrics: the metric definitions (docs/metrics.md) as a page of the service.

The insights page's footer links here, so a team lead reads what a number means beside
the number, from the same document the API's maintainers keep. Rendered on the server by
markdown-it-py (CommonMark with tables, raw HTML off), so the page stays free of script.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path

from markdown_it import MarkdownIt

METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>{title} · FlowPilot Insights</title>
    <link rel="icon" href="/insights/static/favicon.svg" type="image/svg+xml" />
    <link rel="stylesheet" href="/insights/static/insights.css" />
  </head>
  <body>
    <header class="top"><p><a href="/">← Back to the insights</a></p></header>
    <main class="doc">
{body}
    </main>
  </body>
</html>
"""


@functools.cache
def metrics_page_html() -> str | None:
    """The rendered page, or None when the document is not beside the code (a wheel)."""
    if not METRICS_DOC.is_file():
        return None
    source = METRICS_DOC.read_text(encoding="utf-8")
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    first_line = source.splitlines()[0] if source else ""
    title = first_line.lstrip("# ").strip() or "Metric definitions"
    return _PAGE.format(title=html.escape(title), body=renderer.render(source))
