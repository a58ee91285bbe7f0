"""`miniauth smoke` against a local endpoint: `miniauth serve` behind a recording proxy, the stack faked in moto.

The local server ignores IAM, so the proxy is where the test checks that every Wallet API call carried
a SigV4 `Authorization` for `execute-api` that verifies against the caller's credentials.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto import mock_aws

from miniauth_tools import smoke
from miniauth_tools.cli import main

from served import ServedApi

pytestmark = pytest.mark.e2e

CLIENT, APP, USER = "2022000000000001", "2021000000000001", "2088000000000001"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingProxy:
    """Forwards every POST to the served API unchanged and keeps what it received."""

    upstream: str
    seen: list[Recorded] = field(default_factory=list)

    def __enter__(self) -> RecordingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.seen.append(Recorded(self.path, dict(self.headers.items()), body))
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                local = self.path.removeprefix("/api")  # the stage: the local server has none
                request = urllib.request.Request(proxy.upstream + local, data=body, headers=forwarded,
                                                 method="POST")
                try:
                    answer = urllib.request.urlopen(request, timeout=30)
                except urllib.error.HTTPError as error:
                    answer = error
                with answer:
                    payload = answer.read()
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"  # a stage, as ApiUrl has one
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    with ServedApi(tmp_path_factory.mktemp("smoke")) as api:
        yield api


@pytest.fixture
def proxy(served: ServedApi) -> Iterator[RecordingProxy]:
    with RecordingProxy(served.url) as recording:
        yield recording


def sigv4_valid(recorded: Recorded, credentials: Credentials, region: str) -> bool:
    """Recompute the signature from what arrived, over the headers it says it signed."""
    authorization = recorded.headers.get("Authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return False
    fields = dict(part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 "):].split(","))
    scope = fields["Credential"].split("/")
    assert scope[0] == credentials.access_key and scope[2] == region and scope[3] == "execute-api", scope
    signed = fields["SignedHeaders"].split(";")
    headers = {name: value for name, value in recorded.headers.items() if name.lower() in signed}
    request = AWSRequest(method="POST", url=f"http://{recorded.headers['Host']}{recorded.path}", data=recorded.body,
                         headers=headers)
    request.context["timestamp"] = recorded.headers["X-Amz-Date"]
    signer = SigV4Auth(credentials, "execute-api", region)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    return signer.signature(string_to_sign, request) == fields["Signature"]


def stack_with(api_url: str, wallet_document: str) -> str:
    """A stack `prod` whose outputs name the API and a secret holding the wallet key (moto)."""
    arn = boto3.client("secretsmanager").create_secret(Name="wallet", SecretString=wallet_document)["ARN"]
    template = {
        "Parameters": {"Api": {"Type": "String"}, "Secret": {"Type": "String"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"ApiUrl": {"Value": {"Ref": "Api"}}, "WalletKeySecretArn": {"Value": {"Ref": "Secret"}}},
    }
    boto3.client("cloudformation").create_stack(StackName="prod", TemplateBody=json.dumps(template), Parameters=[
        {"ParameterKey": "Api", "ParameterValue": api_url}, {"ParameterKey": "Secret", "ParameterValue": arn}])
    return arn


def smoke_args(served: ServedApi) -> list[str]:
    return ["--client-id", CLIENT, "--private-key", served.state["merchantKeys"][CLIENT], "--app-id", APP,
            "--user-id", USER]


def test_smoke_against_a_stack_signs_every_wallet_call(served: ServedApi, proxy: RecordingProxy,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    wallet_document = (served.state_dir / "keys" / "wallet_keys.json").read_text()
    with mock_aws():
        stack_with(proxy.url, wallet_document)
        credentials = boto3.session.Session().get_credentials().get_frozen_credentials()
        code = main(["smoke", "--stack-name", "prod", "--region", "us-east-1", *smoke_args(served)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "smoke test passed" in out and "FAILED" not in out
    assert "[ 5/13] authorizations/list: ok" in out and "[13/13] after the withdrawal: ok" in out

    wallet = [r for r in proxy.seen if r.path.startswith("/api/wallet/")]
    open_api = [r for r in proxy.seen if r.path.startswith("/api/v2/")]
    assert {r.path for r in wallet} == {"/api/wallet/getAuthCode", "/api/wallet/authorizations/list",
                                        "/api/wallet/authorizations/revoke"}
    assert len(wallet) >= 9 and len(open_api) >= 6
    for recorded in wallet:
        assert sigv4_valid(recorded, Credentials(credentials.access_key, credentials.secret_key, credentials.token),
                           "us-east-1"), recorded.path
        assert recorded.headers.get("X-Amz-Security-Token") == credentials.token
    for recorded in open_api:
        assert "Authorization" not in recorded.headers and recorded.headers["Signature"].startswith("algorithm=RSA256")
    assert credentials.secret_key not in out


def test_a_tampered_wallet_call_fails_verification(served: ServedApi, proxy: RecordingProxy) -> None:
    """The check above is not vacuous: a body changed after signing no longer verifies."""
    signer = smoke.SigV4Transport(Credentials("AKIDEXAMPLE", "secret", "token"), "eu-west-1")
    signer(proxy.url + "/wallet/authorizations/list", b'{"userId": "2088000000000001"}',
           {"Content-Type": "application/json"})
    recorded = proxy.seen[-1]
    credentials = Credentials("AKIDEXAMPLE", "secret", "token")
    assert sigv4_valid(recorded, credentials, "eu-west-1")
    recorded.body = b'{"userId": "2088000000000002"}'
    assert not sigv4_valid(recorded, credentials, "eu-west-1")


def test_smoke_with_the_wrong_wallet_key_exits_non_zero(served: ServedApi, proxy: RecordingProxy, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    merchant_public = Path(served.state["merchantKeys"][CLIENT].replace("_private", "_public"))
    code = main(["smoke", "--url", proxy.url, "--region", "us-east-1", "--wallet-public-key", str(merchant_public),
                 *smoke_args(served)])
    out = capsys.readouterr().out
    assert code == 1
    assert "applyToken: FAILED: ResponseVerificationError" in out
    assert "smoke test passed" not in out


def test_smoke_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_text("x")
    base = ["--client-id", CLIENT, "--private-key", str(key), "--app-id", APP, "--user-id", USER]
    assert main(["smoke", *base]) == 1
    assert "give --stack-name NAME (its ApiUrl output) or --url URL" in capsys.readouterr().err
    assert main(["smoke", "--url", "http://127.0.0.1:9/api", *base]) == 1
    assert "--url needs --wallet-public-key" in capsys.readouterr().err


def test_region_comes_from_the_option_then_the_url() -> None:
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/api"
    assert smoke.region_of(url) == "eu-west-1"
    assert smoke.region_of(url, "us-east-2") == "us-east-2"
    assert smoke.region_of("http://127.0.0.1:3000") == "us-east-1"  # the AWS configuration's (conftest)
