"""Running the `miniauth` command in process, and what its answers must look like."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def assert_error(run: Run, *fragments: str, code: int = 1) -> None:
    """One line on stderr, `miniauth: error: ...`, no traceback, nothing on stdout."""
    assert run.code == code, run
    assert run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("miniauth: error: "), run.err
    assert "Traceback" not in run.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
