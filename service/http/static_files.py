"""GET /static/{name}: the files the service's own pages load (never a CDN).

Files are held gzipped in memory; clients that accept gzip get those bytes, others the
decompressed ones. Names are versioned by their pinned hash in the page (SRI), so they
may be cached for long.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service.graphiql.assets import assets
from service.http.limits import json_refusal

_CACHE_CONTROL = "public, max-age=86400"


async def static_file(request: Request) -> Response:
    """One shipped file, or 404 with a coded JSON body."""
    asset = assets().get(request.path_params["name"])
    if asset is None:
        return json_refusal(404, "no such file")
    headers = {
        "Cache-Control": _CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.content, media_type=asset.media_type, headers=headers)
