"""mypy --strict is part of every PR and of CI, over the runtime and the merchant SDK."""

from __future__ import annotations

import re
import tomllib

from support import ROOT


def test_make_pr_and_ci_run_the_strict_type_check_and_the_tests() -> None:
    makefile = (ROOT / "Makefile").read_text()
    pr = re.search(r"^pr:(.*)$", makefile, re.M)
    assert pr and "typecheck" in pr.group(1).split(), "make pr must run make typecheck"
    assert re.search(r"^typecheck:.*\n\t\$\(BIN\)/mypy\s*$", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "make typecheck" in ci and "make test" in ci


def test_mypy_is_strict_over_the_runtime_and_the_sdk() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True and "pydantic.mypy" in config["plugins"]
    checked = [ROOT / path for path in config["files"]]
    assert ROOT / "layers" / "miniauth" / "miniauth" in checked
    sdk = next(path for path in (ROOT / "sdk" / "miniauth_sdk", ROOT / "layers" / "miniauth" / "miniauth" / "sdk")
               if path.is_dir())
    assert (sdk / "py.typed").exists(), "merchants type-check against the SDK (PEP 561)"
    assert any(sdk.is_relative_to(path) for path in checked), "the SDK is type-checked"
