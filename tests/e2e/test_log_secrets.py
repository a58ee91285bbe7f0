"""No secret in the logs: a whole flow, refusals and a replay included, logged at DEBUG by `miniauth serve`.

The functions' structured logs (and metrics) go to the server's output, which the test captures whole.
Every authCode, access and refresh token, request and response signature, and private key involved
is then searched for, whole and by its first 16 characters.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from miniauth_sdk import OpenApiError, UrllibTransport
from miniauth_sdk.transport import RawResponse

from served import ServedApi
from support import APP_ID, USER_ID

pytestmark = pytest.mark.e2e


class Recording:
    """A transport that keeps every signature sent and received, so the test knows what to look for."""

    def __init__(self) -> None:
        self.inner = UrllibTransport()
        self.signatures: list[str] = []

    def __call__(self, url: str, body: bytes, headers: Any) -> RawResponse:
        self.signatures.append(headers["Signature"])
        raw = self.inner(url, body, headers)
        if raw.header("Signature"):
            self.signatures.append(raw.header("Signature"))
        return raw


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    with ServedApi(tmp_path_factory.mktemp("logs"), "--parameter-overrides", "LogLevel=DEBUG",
                   "RetryGraceSeconds=0") as api:
        yield api


def refused(call: Any) -> str:
    with pytest.raises(OpenApiError) as error:
        call()
    return error.value.result_code


def signature_forms(header: str) -> list[str]:
    value = header.split("signature=", 1)[1]
    decoded = unquote(value)
    return [value, decoded, base64.b64decode(decoded).hex()]


def key_material(pem: str) -> list[str]:
    """The base64 lines of a PEM: any of them in a log would be part of the key."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_a_whole_flow_logs_no_secret(served: ServedApi, figures: list[str]) -> None:
    recording = Recording()
    sdk = served.merchant(transport=recording, retries=0)
    codes = [served.auth_code(["auth_base", "auth_user", "USER_LOGIN_ID"]) for _ in range(2)]
    pair = sdk.apply_token(codes[0], APP_ID)
    assert sdk.inquiry_user_info(pair.access_token, APP_ID).user_id == USER_ID
    rotated = sdk.refresh(pair.refresh_token, APP_ID)
    assert refused(lambda: sdk.refresh(pair.refresh_token, APP_ID)) == "USED_REFRESH_TOKEN"  # a replay
    second = sdk.apply_token(codes[1], APP_ID)
    sdk.revoke(second.access_token, APP_ID)
    assert refused(lambda: sdk.inquiry_user_info(second.access_token, APP_ID)) == "INVALID_ACCESS_TOKEN"
    assert refused(lambda: sdk.apply_token(codes[1], APP_ID)) == "USED_AUTHCODE"
    assert refused(lambda: sdk.inquiry_user_info(second.access_token + "x" * 200, APP_ID)) == "PARAM_ILLEGAL"
    stranger = served.merchant("2022000000000002", transport=recording, retries=0)
    assert refused(lambda: stranger.inquiry_user_info(rotated.access_token, APP_ID)) == "ACCESS_DENIED"

    secrets = [*codes]
    for issued in (pair, rotated, second):
        secrets += [issued.access_token, issued.refresh_token]
    for header in recording.signatures:
        secrets += signature_forms(header)
    keys = served.state
    for path in [*keys["merchantKeys"].values(), served.state_dir / "keys" / "wallet_keys.json"]:
        text = Path(path).read_text()
        pems = json.loads(text)["privateKeys"].values() if str(path).endswith(".json") else [text]
        for pem in pems:
            secrets += key_material(pem)

    logs = "".join(served.output)
    records = [json.loads(line) for line in served.output if line.startswith("{")]
    assert any(r.get("message") == "request refused" for r in records), "the functions' logs were not captured"
    assert any(r.get("resultCode") == "USED_REFRESH_TOKEN" for r in records)
    assert len(recording.signatures) >= 20 and len(secrets) > 50
    for secret in secrets:
        assert secret not in logs, f"a secret ({len(secret)} characters) appears in the logs"
        assert secret[:16] not in logs, "the start of a secret appears in the logs"
    figures.append(f"secret leaks: {len(secrets)} secrets searched in {len(records)} DEBUG log records, 0 found")
