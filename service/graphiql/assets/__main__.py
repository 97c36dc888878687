"""Re-vendor GraphiQL's files: `python -m service.graphiql.assets` (needs npm).

Packs each pinned package from the npm registry, checks the file against its pinned
SHA-384 and stores it gzipped (deterministic) with the package's licence. To upgrade,
change the versions and hashes in VENDORED first (unpkg's `?meta` lists the hashes).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from service.graphiql.assets import ASSETS_DIR, VENDORED, sri


def main() -> int:
    npm = shutil.which("npm")
    if npm is None:
        print("error: npm is needed to vendor the GraphiQL assets", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as workdir:
        for asset in VENDORED:
            spec = f"{asset.package}@{asset.version}"
            packed = subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", workdir],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
            with tarfile.open(Path(workdir) / packed) as tarball:
                content = _member(tarball, f"package/{asset.path_in_package}")
                licence = _member(tarball, "package/LICENSE")
            if sri(content) != asset.integrity:
                print(f"error: {spec} {asset.path_in_package} has another hash", file=sys.stderr)
                return 1
            asset.stored.write_bytes(gzip.compress(content, 9, mtime=0))
            (ASSETS_DIR / asset.licence).write_bytes(licence)
            print(f"{spec} {asset.path_in_package} {asset.integrity}")
    return 0


def _member(tarball: tarfile.TarFile, name: str) -> bytes:
    extracted = tarball.extractfile(name)
    if extracted is None:
        raise FileNotFoundError(name)
    return extracted.read()


if __name__ == "__main__":
    raise SystemExit(main())
