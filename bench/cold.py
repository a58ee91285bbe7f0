"""Cold init: a fresh interpreter doing what Lambda init does, next to two floors, in interleaved rounds."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field

from environment import LAYER, PYTHON, Function, Setup

FLOOR_PASS = "python -c pass"
FLOOR_BOTOCORE = "botocore client"
# Every child ends the moment its work is done, as a Lambda container's init does: the interpreter's
# teardown (freeing every module, the final collections) is never paid there, and it grows with the
# heap, so counting it would charge the subjects (and reward gc.freeze) for something Lambda never runs.
_EXIT = "; import os; os._exit(0)"
_PASS = "pass" + _EXIT
_BOTOCORE = "import botocore.session; botocore.session.get_session().create_client('dynamodb')" + _EXIT
# What no function can do without: the libraries the runtime is built on, imported as the functions
# import them, and the one DynamoDB client, made through pynamodb. Our own share is what lies above it.
FLOOR_LIBRARIES = "runtime libraries"
_LIBRARIES = (
    "from pynamodb.connection import Connection; import pynamodb.models, pynamodb.attributes, pynamodb.transactions; "
    "from aws_lambda_powertools.logging import Logger; from aws_lambda_powertools.metrics import Metrics; "
    "import pydantic_core; from cryptography.hazmat.primitives.asymmetric import padding, rsa; "
    "from cryptography.hazmat.primitives import hashes, serialization; Connection().client"
) + _EXIT


def _init_code(function: Function) -> str:
    return f"import sys; sys.path[:0] = [{function.code_dir!r}, {str(LAYER)!r}]; import app" + _EXIT


@dataclass
class Sample:
    cpu_ms: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    instructions: list[int] = field(default_factory=list)


def run_child(code: str, env: dict[str, str], perf: bool = False) -> tuple[float, float, int | None]:
    """CPU ms (user+sys of that child alone, from wait4), peak RSS MiB, instructions (with perf)."""
    argv = [PYTHON, "-c", code]
    if perf:
        argv = ["perf", "stat", "-x,", "-e", "instructions:u", "--", *argv]
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = child.stderr.read() if child.stderr else b""  # type: ignore[union-attr]
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"init failed ({child.returncode}): {stderr.decode(errors='replace')[-800:]}")
    instructions = None
    if perf:
        found = re.search(rb"^(\d+),[^,]*,instructions", stderr, re.M)
        instructions = int(found.group(1)) if found else None
    return (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss / 1024, instructions


def perf_works() -> bool:
    try:
        out = subprocess.run(["perf", "stat", "-x,", "-e", "instructions:u", "--", "true"],
                             capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and re.search(rb"^\d+,", out.stderr, re.M) is not None


def top_imports(function: Function, shown: int = 5) -> list[tuple[str, float]]:
    """The largest cumulative import times of one init (-X importtime), top-level packages first in rank."""
    out = subprocess.run([PYTHON, "-X", "importtime", "-c", _init_code(function)], env=function.environment,
                         capture_output=True, text=True, check=True)
    rows = []
    for line in out.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if found:
            rows.append((found.group(3), int(found.group(1)) / 1000, len(found.group(2))))
    # Keep modules that are not inside a module already listed, so the list names distinct costs.
    rows.sort(key=lambda r: -r[1])
    picked: list[tuple[str, float]] = []
    for name, ms, _ in rows:
        if name in ("app", "encodings", "site") or any(name.startswith(p + ".") for p, _ in picked):
            continue
        picked.append((name, ms))
        if len(picked) == shown:
            break
    return picked


def measure(setup: Setup, rounds: int, perf: bool) -> dict[str, Sample]:
    """Interleaved: every round runs each floor and each function once, in an order rotated per round."""
    jobs = [(FLOOR_PASS, _PASS, setup.base), (FLOOR_BOTOCORE, _BOTOCORE, setup.base),
            (FLOOR_LIBRARIES, _LIBRARIES, setup.base)]
    jobs += [(f.logical_id, _init_code(f), f.environment) for f in setup.functions]
    samples = {name: Sample() for name, _, _ in jobs}
    for n in range(rounds):
        shift = n % len(jobs)
        for name, code, env in jobs[shift:] + jobs[:shift]:
            cpu, rss, instructions = run_child(code, env, perf and n == 0)
            if perf and n == 0:
                if instructions is not None:
                    samples[name].instructions.append(instructions)
                continue  # perf's own start-up is not the child's: that round only counts instructions
            samples[name].cpu_ms.append(cpu)
            samples[name].rss_mib.append(rss)
    return samples
