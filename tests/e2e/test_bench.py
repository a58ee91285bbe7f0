"""`make bench` in its quick mode, so the benchmark cannot rot: every section, and figures that make sense.

It asserts no timing goal (a shared machine's timings are noise); the README quotes a full run.
"""

from __future__ import annotations

import re
import subprocess
import sys

from support import ROOT


def test_quick_bench_prints_every_section_with_sane_figures() -> None:
    out = subprocess.run([sys.executable, "-m", "bench", "--quick", "--load", "8", "--no-layer"], cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split(" | ") for line in out.stdout.splitlines() if " | " in line]
    sections = {row[0].strip() for row in rows}
    assert {"cold init", "first call", "warm", "requests", "throughput", "layer"} <= sections

    def row(what: str) -> list[str]:
        return next(r for r in rows if r[1].strip() == what)

    functions = [r for r in rows if r[0].strip() == "cold init" and not r[1].startswith("floor")]
    assert len(functions) == 7
    libraries = row("floor: the runtime's libraries")
    for r in functions + [row("floor: botocore DynamoDB client"), row("floor: python -c pass"), libraries]:
        low, median, high = (float(c) for c in r[2:5])
        assert 0 < low <= median <= high
    # A function's init does more than creating a botocore client, which does more than `pass`.
    assert float(row("floor: python -c pass")[3]) < float(row("floor: botocore DynamoDB client")[3])
    assert float(row("floor: botocore DynamoDB client")[3]) < float(libraries[3])  # pynamodb's client and more
    for r in functions:
        assert float(r[6].strip().rstrip("x")) > 1.0, r

    for op in ("applyToken", "inquiryUserInfo", "revoke"):
        total, own = row(f"{op} total (stub DynamoDB)"), row(f"{op} own (fake port)")
        assert float(own[3]) < float(total[3]), (own, total)  # botocore's share is real work
        assert float(row(f"{op} (stub DynamoDB)")[3]) > 0
        assert int(row(op)[3]) == 3  # the request budget of tests/integration/test_storage.py: replay marker + 2
        assert row(op)[8].startswith("PutItem + "), row(op)  # the replay marker is written first
    assert int(row("unknownCode")[3]) == 2  # the replay marker, then the read that finds nothing

    throughput = next(r for r in rows if r[0].strip() == "throughput")
    assert int(throughput[3]) > 0, throughput
    assert re.search(r"profile applyToken .*pynamodb/botocore [\d.]+ .*signing", out.stdout)
    assert re.search(r"^top imports .*ApplyTokenFunction: \S+ \d+", out.stdout, re.M)
    closing = out.stdout.strip().splitlines()[-1]
    assert closing.startswith("bench figures: cold init "), closing
    assert re.search(r"first call [\d.]+-[\d.]+x GetItem floor; warm total [\d.]+-[\d.]+x crypto floor", closing)
