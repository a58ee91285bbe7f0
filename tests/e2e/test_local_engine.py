"""`miniauth serve` on DynamoDB Local: which engine runs, that it dies with the server, and the local CLI around it.

One server (module scope, RetryGraceSeconds=0 so the demo need not wait) serves the CLI tests; the
lifetime tests start their own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from miniauth_sdk import OpenApiError
from miniauth_tools.local import dynamodb_local

from served import ServedApi
from support import APP_ID, ROOT, USER_ID

pytestmark = pytest.mark.e2e


def dynamodb_local_can_run() -> bool:
    try:
        dynamodb_local.java_command()
    except dynamodb_local.Unavailable:
        return False
    return dynamodb_local.jar_in(ROOT / dynamodb_local.DEFAULT_DIR) is not None or shutil.which("npm") is not None


EXPECTED_ENGINE = "dynamodb-local" if dynamodb_local_can_run() else "moto"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    # The state folder is <dir>/.local, as `make run` leaves it in the project folder.
    with ServedApi(tmp_path_factory.mktemp("engine") / ".local", "--parameter-overrides",
                   "RetryGraceSeconds=0") as api:
        yield api


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


def _cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "miniauth_tools.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def _no_aws_environment(home: Path) -> dict[str, str]:
    """The environment without any AWS variable, and a HOME without ~/.aws: no credentials, no region."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.endswith("_TABLE")}
    env["HOME"] = str(home)
    return env


def test_the_default_engine_is_dynamodb_local_in_memory_without_telemetry(served: ServedApi) -> None:
    state = served.state
    assert state["dynamodbEngine"] == EXPECTED_ENGINE
    assert state["dynamodbEndpoint"].startswith("http://127.0.0.1:")
    if EXPECTED_ENGINE == "moto":
        assert any("miniauth: notice:" in line and "moto" in line for line in served.output)
        pytest.skip("Java 17+ or npm is missing here: the server fell back to moto, as it says")
    command = Path(f"/proc/{state['dynamodbPid']}/cmdline").read_bytes().split(b"\0")
    assert b"-disableTelemetry" in command and b"-inMemory" in command and b"-sharedDb" in command
    assert any("DynamoDB Local 3.3" in line for line in served.output)


@pytest.mark.skipif(EXPECTED_ENGINE != "dynamodb-local", reason="DynamoDB Local needs Java 17+ and npm")
@pytest.mark.parametrize("how", ["terminated", "killed"])
def test_dynamodb_local_stops_with_the_server(tmp_path: Path, how: str) -> None:
    """Stopped with the server, and gone too when the server is SIGKILLed (no orphan JVM)."""
    with ServedApi(tmp_path, "--workers", "1") as api:
        java = api.state["dynamodbPid"]
        assert _alive(java)
        if how == "terminated":
            api.process.terminate()
        else:
            api.process.send_signal(signal.SIGKILL)  # only the server: its process group is not touched
        api.process.wait(timeout=30)
        assert _gone_within(java, 15), f"DynamoDB Local (pid {java}) outlived the server ({how})"


def test_a_busy_port_is_one_line_naming_run_args(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        begun = time.monotonic()
        run = _cli("serve", "--port", str(port), "--state-dir", str(tmp_path))
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("miniauth: error: port ") and f'RUN_ARGS="--port {port + 1}"' in lines[0]
    assert time.monotonic() - begun < 30  # refused before any database starts


def test_the_admin_cli_needs_no_aws_account_for_the_local_database(served: ServedApi, tmp_path: Path) -> None:
    env = _no_aws_environment(tmp_path)
    named = _cli("--endpoint-url", served.state["dynamodbEndpoint"], "clients", "list", env=env)
    assert named.returncode == 0, named.stderr
    assert named.stdout.splitlines()[0].startswith("2022000000000001\tACTIVE\tDemo Merchant")
    # from the folder whose .local/server.json names the running server, no option is needed
    found = _cli("apps", "list", "--json", cwd=served.state_dir.parent, env=env)
    assert found.returncode == 0, found.stderr
    assert APP_ID in [app["appId"] for app in json.loads(found.stdout)]
    assert "using the running local server's database" in found.stderr


def test_miniauth_code_prints_a_fresh_code_the_sdk_redeems(served: ServedApi) -> None:
    run = _cli("code", "--url", served.url, "--user", USER_ID, "--app", APP_ID, "--scope", "auth_user",
               "--scope", "USER_LOGIN_ID")
    assert run.returncode == 0, run.stderr
    code = run.stdout.strip()
    assert "\n" not in code and 32 <= len(code) <= 64
    sdk = served.merchant()
    pair = sdk.apply_token(code, APP_ID)
    assert {"nickName", "loginIdInfos"} <= set(sdk.inquiry_user_info(pair.access_token, APP_ID).fields)
    with pytest.raises(OpenApiError) as used:
        sdk.apply_token(code, APP_ID)
    assert used.value.result_code == "USED_AUTHCODE"  # one code per call: run it again for another


def test_miniauth_code_without_consent_says_what_the_sheet_would_ask(served: ServedApi) -> None:
    run = _cli("code", "--url", served.url, "--user", "2088000000000002", "--app", "2021000000000002",
               "--scope", "USER_ADDRESS", "--no-consent", "--json")
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("miniauth: error: getAuthCode: USER_CONSENT_REQUIRED") and "USER_ADDRESS" in run.stderr
    granted = _cli("code", "--state-dir", str(served.state_dir), "--user", "2088000000000002", "--app",
                   "2021000000000002", "--scope", "USER_ADDRESS", "--scope", "USER_BOGUS", "--json")
    assert granted.returncode == 0, granted.stderr
    answer = json.loads(granted.stdout)
    assert answer["authSuccessScopes"] == ["USER_ADDRESS"]
    assert answer["authErrorScopes"] == {"USER_BOGUS": "INVALID_SCOPE"}


def test_the_demo_plays_a_client_without_login_id_or_refresh_to_the_end(served: ServedApi) -> None:
    """Client 2 may have auth_user only and no REFRESH_TOKEN: the contract's answers, not deviations."""
    run = _cli("demo", "--url", served.url, "--state-dir", str(served.state_dir), "--client-id", "2022000000000002",
               "--app-id", "2021000000000003")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "USER_LOGIN_ID SCOPE_NOT_ALLOWED" in run.stdout
    assert "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE" in run.stdout
    assert "demo complete" in run.stdout and "FAILED" not in run.stdout


def test_the_demo_asks_for_the_scopes_given(served: ServedApi) -> None:
    run = _cli("demo", "--url", served.url, "--state-dir", str(served.state_dir), "--scope", "USER_NICKNAME",
               "--scope", "USER_ADDRESS")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "scopes USER_NICKNAME, USER_ADDRESS" in run.stdout
    assert "fields: addresses, nickName, status, userId" in run.stdout
    assert "demo complete" in run.stdout


def test_the_server_output_has_an_access_log_and_no_metrics_blob(served: ServedApi) -> None:
    """Runs after the tests above: refusals happened (USER_CONSENT_REQUIRED, USED_AUTHCODE)."""
    output = "".join(served.output)
    assert '"message":"request refused"' in output  # the functions' logs are there
    assert '"_aws"' not in output and "CloudWatchMetrics" not in output
    assert "No application metrics" not in output
    access = [line.split() for line in served.output if " POST /" in line and line.rstrip().endswith(" ms")]
    assert ["POST", "/wallet/getAuthCode", "200", "USER_CONSENT_REQUIRED"] in [line[1:5] for line in access]
    assert ["POST", "/v2/authorizations/applyToken", "200", "USED_AUTHCODE"] in [line[1:5] for line in access]


def _without(monkeypatch: pytest.MonkeyPatch, *programs: str) -> None:
    found = shutil.which
    monkeypatch.setattr(dynamodb_local.shutil, "which", lambda name: None if name in programs else found(name))


def test_without_java_the_server_says_so_once_and_runs_on_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from miniauth_tools.admin import AdminError
    from miniauth_tools.local.serve import ServeOptions, start_database

    _without(monkeypatch, "java")
    notices: list[str] = []
    with contextlib.ExitStack() as stack:
        endpoint, engine, pid = start_database(ServeOptions(), stack, notices.append)
        assert (engine, pid) == ("moto", None) and endpoint.startswith("http://127.0.0.1:")
    assert len(notices) == 1
    assert notices[0].startswith("miniauth: notice: Java not found: install Java 17 or newer (Debian: apt-get install "
                                 "openjdk-17-jre-headless)") and "--engine moto" in notices[0]
    with contextlib.ExitStack() as stack, pytest.raises(AdminError, match="^Java not found: install Java 17"):
        start_database(ServeOptions(engine="dynamodb-local"), stack, notices.append)


def test_without_npm_a_missing_install_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _without(monkeypatch, "npm")
    with pytest.raises(dynamodb_local.Unavailable, match=r"^npm not found, .*apt-get install npm"):
        dynamodb_local.install(tmp_path / "nowhere")


@pytest.mark.parametrize(("shown", "usable"), [('openjdk version "17.0.15" 2025-04-15', True),
                                                ('openjdk version "21" 2023-09-19', True),
                                                ('java version "1.8.0_392"', False),
                                                ('openjdk version "11.0.2" 2019-01-15', False)])
def test_java_older_than_17_is_refused_with_the_install_hint(monkeypatch: pytest.MonkeyPatch, shown: str,
                                                             usable: bool) -> None:
    monkeypatch.setattr(dynamodb_local.shutil, "which", lambda name: "/usr/bin/java")
    monkeypatch.setattr(dynamodb_local.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout="", stderr=shown + "\n"))
    if usable:
        assert dynamodb_local.java_command() == "/usr/bin/java"
    else:
        with pytest.raises(dynamodb_local.Unavailable, match="is too old for DynamoDB Local: install Java 17"):
            dynamodb_local.java_command()
