"""First invocation and warm cost of the Open API functions, next to the crypto and botocore floors."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from environment import LAYER, PYTHON, Setup, dumps

INVOKE = str(Path(__file__).with_name("invoke.py"))
MEASURED = (("ApplyTokenFunction", "applyToken"), ("InquiryUserInfoFunction", "inquiryUserInfo"),
            ("RevokeFunction", "revoke"))
REQUESTS = (  # rows of the requests table: (function, operation, what it answers)
    ("ApplyTokenFunction", "applyToken", "SUCCESS"),
    ("ApplyTokenFunction", "refresh", "SUCCESS"),
    ("InquiryUserInfoFunction", "inquiryUserInfo", "SUCCESS"),
    ("RevokeFunction", "revoke", "SUCCESS"),
    ("ApplyTokenFunction", "unknownCode", "INVALID_AUTHCODE"),
    ("GetAuthCodeFunction", "getAuthCode", "SUCCESS"),
)
FLOOR = "floor"


@dataclass
class Runs:
    results: list[dict[str, Any]] = field(default_factory=list)

    def values(self, key: str) -> list[float]:
        return [r[key] for r in self.results]


def invoke(setup: Setup, function: str | None, operation: str, mode: str, calls: int, expect: str = "SUCCESS",
           profile_calls: int = 0) -> dict[str, Any]:
    spec = setup.function(function) if function else setup.functions[0]
    config = {"mode": mode, "operation": operation, "calls": calls, "function": function or "floor",
              "code_dir": spec.code_dir, "layer_dir": str(LAYER), "expect": expect,
              "profile_calls": profile_calls, **setup.keys()}
    out = subprocess.run([PYTHON, INVOKE, dumps(config)], env=spec.environment, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{function} {operation} ({mode}) failed: {out.stderr[-1500:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise RuntimeError(f"{function} {operation} ({mode}) did not answer {expect}: {out.stdout[-800:]}")
    return result


def measure(setup: Setup, rounds: int, calls: int, profile_calls: int) -> dict[str, Runs]:
    """Each round: one container per (function, mode) and one botocore floor container, rotated."""
    jobs: list[tuple[str, str | None, str, str]] = [(FLOOR, None, "getItem", "floor")]
    for function, operation in MEASURED:
        jobs += [(f"{operation} http", function, operation, "http"), (f"{operation} port", function, operation, "port")]
    runs = {name: Runs() for name, *_ in jobs}
    for n in range(rounds):
        shift = n % len(jobs)
        for name, function, operation, mode in jobs[shift:] + jobs[:shift]:
            profiled = profile_calls if n == 0 and mode != "floor" else 0
            runs[name].results.append(invoke(setup, function, operation, mode, calls, profile_calls=profiled))
    return runs


def requests(setup: Setup, runs: dict[str, Runs]) -> list[tuple[str, list[str], list[str]]]:
    """(operation, first call's requests with a cold registry, a warm call's requests)."""
    rows = []
    for function, operation, expect in REQUESTS:
        measured = runs.get(f"{operation} http")
        result = measured.results[0] if measured else invoke(setup, function, operation, "http", 2, expect)
        rows.append((operation, result["first_requests"], result["warm_requests"]))
    return rows
