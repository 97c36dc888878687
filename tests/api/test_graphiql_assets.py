"""GraphiQL's files come from the service: pinned, licensed, integrity-checked, no CDN."""

from __future__ import annotations

import gzip
import re

from service.graphiql.assets import ASSETS_DIR, LICENCES, VENDORED, assets, sri
from service.graphiql.page import CONTENT_SECURITY_POLICY
from tests.graphql_client import ApiClient

MAX_VENDORED_BYTES = 1_200_000  # gzipped, as shipped


def test_vendored_files_match_their_pinned_hashes_and_ship_with_licences() -> None:
    for vendored in VENDORED:
        assert sri(gzip.decompress(vendored.stored.read_bytes())) == vendored.integrity
        assert re.fullmatch(r"\d+\.\d+\.\d+", vendored.version), "pin an exact version"
        assert vendored.licence in LICENCES
    for licence in LICENCES:
        assert "MIT License" in (ASSETS_DIR / licence).read_text(encoding="utf-8")
    assert sum(v.stored.stat().st_size for v in VENDORED) < MAX_VENDORED_BYTES


async def test_the_page_loads_only_from_the_service_with_integrity(api: ApiClient) -> None:
    response = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page = response.text
    assert "unpkg" not in page and "cdn" not in page.lower()
    assert "<script>" not in page, "no inline script: the CSP allows only 'self'"
    references = re.findall(r'(?:src|href)="([^"]+)"\s+integrity="([^"]+)"', page)
    assert len(references) == 6
    for url, integrity in references:
        assert url.startswith("/static/")
        served = await api.http.get(url)
        assert served.status_code == 200
        assert sri(served.content) == integrity == assets()[url.removeprefix("/static/")].integrity


async def test_static_files_are_gzipped_when_accepted_and_plain_otherwise(api: ApiClient) -> None:
    plain = await api.http.get("/static/graphiql.min.js", headers={"Accept-Encoding": "identity"})
    assert plain.headers.get("content-encoding") is None
    assert plain.headers["content-type"].startswith("text/javascript")
    assert plain.headers["x-content-type-options"] == "nosniff"
    zipped = await api.http.get("/static/graphiql.min.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # httpx decodes it
    licence = await api.http.get("/static/LICENSE.graphiql")
    assert "MIT License" in licence.text


async def test_an_unknown_static_file_is_a_coded_404(api: ApiClient) -> None:
    for name in ("nothing.js", "__init__.py", "graphiql.min.js.gz"):
        response = await api.http.get(f"/static/{name}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"]
    assert (await api.http.get("/static/..%2F__init__.py")).status_code == 404
