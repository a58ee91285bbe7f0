"""`make sam-local` (scripts/sam_local.py): the pieces everywhere, the whole run where a Docker engine is."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from support import ROOT


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sam_local = load("sam_local")
shim = load("docker_host_network")


@pytest.mark.parametrize(("machine", "architecture"), [("x86_64", "x86_64"), ("AMD64", "x86_64"),
                                                       ("aarch64", "arm64"), ("arm64", "arm64")])
def test_the_machine_picks_the_lambda_architecture(machine: str, architecture: str) -> None:
    assert sam_local.machine_architecture(machine) == architecture


def test_a_machine_lambda_cannot_run_is_refused() -> None:
    with pytest.raises(sam_local.Failure, match="x86_64 or arm64"):
        sam_local.machine_architecture("riscv64")


def test_the_template_is_built_for_the_machine() -> None:
    text = (ROOT / "template.yaml").read_text()
    for architecture, other in (("x86_64", "arm64"), ("arm64", "x86_64")):
        built = sam_local.template_for(text, architecture)
        lines = [line for line in built.splitlines()
                 if line.strip().startswith(("Architectures:", "CompatibleArchitectures:", "BuildArchitecture:"))]
        assert lines and all(other not in line for line in lines), lines
        literal = all(architecture in line for line in lines)
        by_parameter = all("!Ref Architecture" in line for line in lines) and sam_local.declares_parameter(
            built, "Architecture"
        ) and f"  Architecture:\n    Type: String\n    Default: {architecture}\n" in built
        assert literal or by_parameter, lines
        assert built.count("\n") == text.count("\n")  # only those values change


def test_an_architecture_parameter_defaults_to_the_machine() -> None:
    text = ("Parameters:\n  Architecture:\n    Type: String\n    Default: arm64\n    AllowedValues: [arm64, x86_64]\n"
            "  Other:\n    Type: String\n    Default: arm64\nResources: {}\n")
    built = sam_local.template_for(text, "x86_64")
    assert "  Architecture:\n    Type: String\n    Default: x86_64\n" in built
    assert "AllowedValues: [arm64, x86_64]" in built and "  Other:\n    Type: String\n    Default: arm64\n" in built
    assert sam_local.declares_parameter(text, "Architecture")
    assert not sam_local.declares_parameter(text, "Arch")
    assert not sam_local.declares_parameter("Resources:\n  Architecture:\n    Type: X\n", "Architecture")


def test_without_python313_the_instruction_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    problem = sam_local.python313_problem()
    assert problem and "\n" not in problem and "python3.13 on PATH" in problem


def test_sam_local_prints_the_instruction_without_python313(tmp_path: Path) -> None:
    """One line, non-zero, before any build or container."""
    env = {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"}
    env.pop("PYENV_VERSION", None)
    if shutil.which("python3.13", path=env["PATH"]):
        pytest.skip("python3.13 is in /usr/bin here")
    answer = subprocess.run([sys.executable, str(ROOT / "scripts" / "sam_local.py"), "--once"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert answer.returncode == 1
    assert answer.stderr.count("\n") == 1 and "python3.13 on PATH" in answer.stderr


def test_the_shim_puts_sam_containers_on_the_host_network() -> None:
    create = {
        "Image": "samcli/lambda-python3.13:rapid-x86_64-abc",
        "Entrypoint": ["/var/rapid/aws-lambda-rie", "--log-level", "error"],
        "Labels": {"sam.cli.container.type": "lambda"},
        "ExposedPorts": {"8080/tcp": {}},
        "HostConfig": {"PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "53111"}]},
                       "NetworkMode": "default"},
    }
    rewritten = shim.rewrite_create(create)
    assert rewritten["HostConfig"]["NetworkMode"] == "host"
    assert "PortBindings" not in rewritten["HostConfig"] and "ExposedPorts" not in rewritten
    entry = rewritten["Entrypoint"]
    assert entry[:3] == ["/var/rapid/aws-lambda-rie", "--log-level", "error"]
    assert entry[3:5] == ["--runtime-interface-emulator-address", "127.0.0.1:53111"]
    assert entry[5] == "--runtime-api-address" and entry[6].startswith("127.0.0.1:")
    assert entry[6] != "127.0.0.1:9001"  # every container its own Runtime API port on the shared network


def test_the_shim_leaves_other_containers_alone() -> None:
    create = {"Image": "debian", "HostConfig": {"NetworkMode": "default"}, "Labels": {}}
    assert shim.rewrite_create(dict(create)) == create


def _docker_skip_reason() -> str | None:
    docker = shutil.which("docker")
    problem = sam_local.docker_problem(docker)
    if problem:
        return f"sam local needs a Docker engine: {problem}"
    sam = ROOT / ".venv-sam" / "bin" / "sam"
    if not sam.exists():
        return "no SAM CLI in .venv-sam (make .venv-sam/.installed)"
    problem = sam_local.python313_problem()
    if problem:
        return problem
    image = f"public.ecr.aws/lambda/python:3.13-{sam_local.machine_architecture()}"
    assert docker is not None
    if not sam_local.has_image(docker, image):
        return f"no {image} image (pull it, or build it offline with scripts/lambda_base_image.sh)"
    return None


@pytest.mark.docker
def test_the_demo_runs_through_sam_local_start_api() -> None:
    reason = _docker_skip_reason()
    if reason:
        pytest.skip(reason)
    answer = subprocess.run([sys.executable, str(ROOT / "scripts" / "sam_local.py"), "--once", "--rounds", "2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert answer.returncode == 0, answer.stdout[-4000:] + answer.stderr[-4000:]
    assert "demo complete: every step behaved as the contract says" in answer.stdout
    table = answer.stdout.split("cold ms", 1)[1]
    for path in ("/wallet/getAuthCode", "/v2/authorizations/applyToken", "/v2/users/inquiryUserInfo"):
        assert path in table
