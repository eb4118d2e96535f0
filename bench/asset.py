"""The zipped Lambda asset, as the stack's bundling produces it.

``stacks.bundling.bundle`` is called exactly as CDK's local bundling calls it (arm64,
Python 3.12, the runtime-provided packages removed), then the directory is zipped with
deflate at zlib's default level, as cdk-assets does (yazl) before uploading it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Asset:
    zipped: int
    unpacked: int
    files: int
    largest: list[tuple[str, int]]  # top-level entries, unpacked bytes
    platform: str
    python: str


def zip_directory(source: Path, archive: Path) -> tuple[int, Counter[str], int]:
    per_top: Counter[str] = Counter()
    files = 0
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(source)
            zf.write(path, relative)
            per_top[relative.parts[0]] += path.stat().st_size
            files += 1
    return archive.stat().st_size, per_top, files


def measure() -> Asset:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from stacks import bundling  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="tapgate-asset-"))
    try:
        output = work / "asset"
        output.mkdir()
        bundling.bundle(source=ROOT / "lambdas", output=output)
        zipped, per_top, files = zip_directory(output, work / "asset.zip")
        return Asset(
            zipped=zipped,
            unpacked=sum(per_top.values()),
            files=files,
            largest=per_top.most_common(8),
            platform=bundling.LAMBDA_PLATFORM,
            python=bundling.LAMBDA_PYTHON_VERSION,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    print(measure())
