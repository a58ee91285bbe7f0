"""Schema fuzzing: schemathesis drives `miniauth serve` from openapi.yaml, every phase, for a bounded time.

The Open API requests are signed by fuzz_hooks.py over the exact bytes sent, so generated bodies get past
the signature check to the token service. MINIAUTH_FUZZ_SECONDS sets the time budget (default 30) for a
longer run by hand; MINIAUTH_FUZZ_SEED replays a run whose seed a failure printed.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from served import ServedApi
from support import ROOT

pytestmark = pytest.mark.fuzz

SECONDS = int(os.environ.get("MINIAUTH_FUZZ_SECONDS", "30"))
PHASES = "examples,coverage,fuzzing,stateful"
# Checks that contradict the contract stay off. Everything else (server errors, status codes, content
# types, response headers and bodies against the document, ...) is on.
CONTRADICT_THE_CONTRACT = [
    # Invalid input is a business refusal: HTTP 200 with PARAM_ILLEGAL (contract section 4), not a 4xx.
    "negative_data_rejection",
    "missing_required_header",
    # API Gateway answers a method a resource does not have with 403 Missing Authentication Token, not 405.
    "unsupported_method",
]
# Codes a correctly signed request can only get from past the signature check.
BEFORE_THE_SIGNATURE = {"PARAM_ILLEGAL", "INVALID_SIGNATURE", None}


def st_run(url: str, state: Path, workdir: Path) -> tuple[subprocess.CompletedProcess[str], dict, list[dict]]:
    report, tally = workdir / "report.json", workdir / "calls.jsonl"
    tally.touch()
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(ROOT / "openapi.yaml"), "--url", url,
        "--phases", PHASES, "--max-time", str(SECONDS), "--workers", "2", "--request-timeout", "20",
        "--checks", "all", "--exclude-checks", ",".join(CONTRADICT_THE_CONTRACT),
        "--generation-database", "none", "--no-color",
        "--report", "json", "--report-json-path", str(report),
    ]
    if os.environ.get("MINIAUTH_FUZZ_SEED"):
        command += ["--seed", os.environ["MINIAUTH_FUZZ_SEED"]]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(ROOT / "tests" / "e2e" / "fuzz_hooks.py"),
        "MINIAUTH_FUZZ_STATE": str(state / "server.json"),
        "MINIAUTH_FUZZ_TALLY": str(tally),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "miniauth"), str(ROOT / "sdk"),
                                       os.environ.get("PYTHONPATH", "")]),
    }
    # The working directory takes hypothesis' and schemathesis' caches, so the checkout stays clean.
    run = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=SECONDS + 120)
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    calls = [json.loads(line) for line in tally.read_text().splitlines()]
    return run, json.loads(report.read_text()), calls


def test_schema_fuzzing(tmp_path: Path, figures: list[str]) -> None:
    with ServedApi(tmp_path / "state") as api:
        begun = time.monotonic()
        run, report, calls = st_run(api.url, tmp_path / "state", tmp_path)
        took = time.monotonic() - begun

    generated = report["test_cases"]["generated"]
    server_errors = [c for c in calls if c["status"] >= 500]
    signed = [c for c in calls if c["signed"]]
    figures.append(f"schema fuzzing: {generated} cases, {len(calls)} calls ({len(signed)} signed) in {took:.0f} s, "
                   f"{len(server_errors)} server errors (seed {report['seed']})")

    assert run.returncode == 0 and report["exit_code"] == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert not server_errors
    assert report["operations"] == {**report["operations"], "selected": 10, "tested": 10, "errored": 0}
    assert all(report["phases"][phase]["status"] == "success" for phase in PHASES.split(",")), report["phases"]
    assert generated >= 100 and len(calls) >= generated

    # The signing hook is exact: no signed request was turned away for its signature...
    assert not [c for c in signed if c["resultCode"] == "INVALID_SIGNATURE"]
    # ...and signed requests of every Open API route got past it, to the token service.
    reached = collections.Counter(c["path"] for c in signed if c["resultCode"] not in BEFORE_THE_SIGNATURE)
    assert set(reached) == {c["path"] for c in calls if not c["path"].startswith("/wallet/")}, reached
