"""`make load` in small: the same flows and audit, bounded so the suite stays quick."""

from __future__ import annotations

from pathlib import Path

import pytest

from load import run_load
from served import ServedApi

pytestmark = [pytest.mark.e2e, pytest.mark.concurrency]
FLOWS, CLIENTS = 80, 8


def test_flows_under_load_leave_every_grant_as_the_merchants_believe(tmp_path: Path, figures: list[str]) -> None:
    with ServedApi(tmp_path, "--workers", "4") as served:
        report = run_load(served.url, served.state, FLOWS, CLIENTS, served.process.pid, max_server_mb=2048)
    figures.append(report.figure())
    assert not report.errors, report.lines()
    assert report.audit.clean, report.lines()
    assert report.audit.as_believed == FLOWS
