"""The layer as `sam build` makes it for arm64, its size unzipped and zipped, and its largest packages."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from environment import LAYER, PYTHON, ROOT

CACHE = ROOT / ".bench" / "layer"
MAKEFILE = LAYER / "Makefile"
# What the python3.13 Lambda runtime ships in its own site-packages (AWS docs, "Lambda runtimes").
RUNTIME_SHIPS = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def _fingerprint() -> str:
    parts = [LAYER / "requirements.txt"] + ([MAKEFILE] if MAKEFILE.exists() else [])
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()[:16]


def build(quick: bool) -> tuple[Path | None, str]:
    """(layer folder, how it was built). The layer's Makefile when it has one (what `sam build` runs for
    BuildMethod: makefile), else pip as BuildMethod python3.13 does it for arm64. Cached by input hash."""
    target = CACHE / _fingerprint()
    method = "layers/miniauth/Makefile (sam's BuildMethod: makefile)" if MAKEFILE.exists() else \
        "pip install --platform manylinux2014_aarch64 --python-version 3.13 --only-binary=:all: (as sam's python3.13)"
    if (target / ".done").exists():
        return target, method + ", cached"
    if quick:
        return None, "not built: --quick does not download wheels (run `make bench` once)"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if MAKEFILE.exists():
        env["ARTIFACTS_DIR"] = str(target)
        subprocess.run(["make", "-s", "-C", str(LAYER), "build-MiniauthLayer"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    else:
        subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--platform", "manylinux2014_aarch64",
                        "--implementation", "cp", "--python-version", "3.13", "--only-binary=:all:", "--no-compile",
                        "--target", str(target / "python"), "-r", str(LAYER / "requirements.txt")],
                       env=env, check=True)
        shutil.copytree(LAYER / "miniauth", target / "python" / "miniauth",
                        ignore=shutil.ignore_patterns("__pycache__"))
    (target / ".done").touch()
    return target, method


def _files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".done"]


def sizes(folder: Path, shown: int = 6) -> tuple[int, int, list[tuple[str, int]], list[str]]:
    """(bytes unzipped, bytes zipped, largest top-level packages, runtime-shipped packages found in it)."""
    files = _files(folder)
    unzipped = sum(p.stat().st_size for p in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
    packages: dict[str, int] = {}
    site = folder / "python"
    for path in files:
        parts = path.relative_to(site).parts if path.is_relative_to(site) else path.relative_to(folder).parts
        name = parts[0].split("-")[0].removesuffix(".py") if len(parts) > 1 else parts[0]
        packages[name] = packages.get(name, 0) + path.stat().st_size
    largest = sorted(packages.items(), key=lambda kv: -kv[1])[:shown]
    shipped = sorted(name for name in packages if name in RUNTIME_SHIPS)
    if any(p.name.endswith(".cpython-313.pyc") for p in files):
        shipped.append("(with 3.13 bytecode)")
    return unzipped, len(buffer.getvalue()), largest, shipped
