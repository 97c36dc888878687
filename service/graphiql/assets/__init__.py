"""GraphiQL's scripts and styles, shipped with the package so the page needs no CDN.

The files are the npm registry's own builds (gzip -9n of the bytes in the package
tarball), pinned by version and SHA-384; the SRI hashes are those of the uncompressed
files, the same ones unpkg serves. `python -m service.graphiql.assets` re-vendors them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class VendoredAsset:
    """One file of an npm package, as its tarball has it."""

    name: str
    package: str
    version: str
    path_in_package: str
    integrity: str
    licence: str

    @property
    def stored(self) -> Path:
        return ASSETS_DIR / f"{self.name}.gz"


VENDORED: tuple[VendoredAsset, ...] = (
    VendoredAsset(
        "react.production.min.js",
        "react",
        "18.2.0",
        "umd/react.production.min.js",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
        "LICENSE.react",
    ),
    VendoredAsset(
        "react-dom.production.min.js",
        "react-dom",
        "18.2.0",
        "umd/react-dom.production.min.js",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
        "LICENSE.react-dom",
    ),
    VendoredAsset(
        "graphiql.min.css",
        "graphiql",
        "3.8.3",
        "graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
        "LICENSE.graphiql",
    ),
    VendoredAsset(
        "graphiql.min.js",
        "graphiql",
        "3.8.3",
        "graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
        "LICENSE.graphiql",
    ),
)
BOOT_SCRIPT = "graphiql-boot.js"
OWN_FILES = (BOOT_SCRIPT, "graphiql-page.css")
LICENCES = ("LICENSE.react", "LICENSE.react-dom", "LICENSE.graphiql")


def sri(content: bytes) -> str:
    """The Subresource Integrity value of `content` (sha384, as browsers check it)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode("ascii")


@dataclass(frozen=True)
class Asset:
    """A file the service serves under /static/, with both of its encodings."""

    gzipped: bytes
    integrity: str
    media_type: str

    @property
    def content(self) -> bytes:
        return gzip.decompress(self.gzipped)


def _media_type(name: str) -> str:
    if name.endswith(".css"):
        return "text/css; charset=utf-8"
    if name.endswith(".js"):
        return "text/javascript; charset=utf-8"
    return "text/plain; charset=utf-8"


@cache
def assets() -> dict[str, Asset]:
    """Every servable file by name; a vendored file whose hash is not pinned is refused."""
    table: dict[str, Asset] = {}
    for vendored in VENDORED:
        gzipped = vendored.stored.read_bytes()
        integrity = sri(gzip.decompress(gzipped))
        if integrity != vendored.integrity:
            raise RuntimeError(f"{vendored.stored.name} does not match its pinned SHA-384")
        table[vendored.name] = Asset(gzipped, integrity, _media_type(vendored.name))
    for name in (*OWN_FILES, *LICENCES):
        text = (ASSETS_DIR / name).read_bytes()
        table[name] = Asset(gzip.compress(text, 9, mtime=0), sri(text), _media_type(name))
    return table
