"""Throughput of the local server on its default engine: `tests/e2e/load.py` for N flows, as calls/s."""

from __future__ import annotations

import re
import subprocess

from environment import PYTHON, ROOT


def run(flows: int, clients: int = 16) -> dict[str, object]:
    out = subprocess.run([PYTHON, str(ROOT / "tests" / "e2e" / "load.py"), "--flows", str(flows),
                          "--clients", str(clients)], cwd=ROOT, capture_output=True, text=True)
    line = next((x for x in out.stdout.splitlines() if x.startswith("load: ") and "calls/s" in x), "")
    engine = re.search(r"DynamoDB: (\S+ \S+)", out.stdout + out.stderr)
    found = re.search(r"in ([\d.]+) s, [\d.]+ flows/s, (\d+) calls/s.*?(\d+) errors", line)
    return {
        "flows": flows,
        "ok": out.returncode == 0 and found is not None,
        "seconds": float(found.group(1)) if found else None,
        "calls_per_s": int(found.group(2)) if found else None,
        "errors": int(found.group(3)) if found else None,
        "line": line or (out.stdout + out.stderr).strip().splitlines()[-1:],
        "engine": engine.group(1) if engine else "default",
    }
