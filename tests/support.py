"""Test helpers: the template, moto tables, a movable clock, demo data and an in-process API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from miniauth import runtime, signing
from miniauth.clock import iso8601
from miniauth_sdk import MerchantClient, RawResponse
from miniauth_sdk.client import fresh_request_time
from miniauth_tools.local.events import proxy_event
from miniauth_tools.local.functions import LambdaContext, load_handler
from miniauth_tools.local.template import Template

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
TEMPLATE = Template(ROOT / "template.yaml")

CLIENT_ID = "2022000000000001"
OTHER_CLIENT_ID = "2022000000000002"
SUSPENDED_CLIENT_ID = "2022000000000009"
APP_ID = "2021000000000001"
SECOND_APP_ID = "2021000000000002"
OTHER_APP_ID = "2021000000000003"  # belongs to OTHER_CLIENT_ID
USER_ID = "2088000000000001"
BARE_USER_ID = "2088000000000002"  # a user with no profile fields beyond the id


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey, pkcs1: bool = False) -> str:
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if pkcs1 else serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey, pkcs1: bool = False) -> str:
    fmt = serialization.PublicFormat.PKCS1 if pkcs1 else serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


# One key pair per demo client (keyVersion 1) and the wallet's own, made once per test session.
MERCHANT_KEYS = {client_id: new_key() for client_id in (CLIENT_ID, OTHER_CLIENT_ID, SUSPENDED_CLIENT_ID)}
WALLET_KEY = new_key()
STRANGER_KEY = new_key()


def signed_headers(path: str, body: str, client_id: str, key: rsa.RSAPrivateKey | None = None,
                   key_version: str = "1", request_time: str | None = None) -> dict[str, str]:
    """The headers a merchant sends: Client-Id, Request-Time and an RSA256 Signature over path and body."""
    # Like the SDK, never two requests in one millisecond: a byte-identical resend is a replay the wallet
    # refuses, and the fake clock stands still. Tests of replays resend the same headers on purpose.
    moment = request_time or iso8601(fresh_request_time(runtime.clock().now()))
    key = key or MERCHANT_KEYS.get(client_id, STRANGER_KEY)
    content = signing.signed_content(path, client_id, moment, body)
    return {
        "Client-Id": client_id,
        "Request-Time": moment,
        "Signature": signing.signature_header(key_version, signing.sign(key, content)),
    }


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 22, 2, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    text: str = ""

    @property
    def code(self) -> str:
        return self.body["result"]["resultCode"]

    @property
    def result_status(self) -> str:
        return self.body["result"]["resultStatus"]


class Api:
    """Calls the real handlers with API Gateway proxy events built like events/*.json."""

    def __init__(self, template: Template = TEMPLATE) -> None:
        self._routes: dict[str, tuple[Any, bool, str]] = {}
        for spec in template.functions():
            for route in spec.routes:
                self._routes[route.path] = (spec, route.iam, spec.logical_id)

    def handler_for(self, path: str) -> Any:
        spec, _, _ = self._routes[path]
        return load_handler(spec)

    def raw(self, path: str, body: str | None, headers: dict[str, str] | None = None) -> Answer:
        spec, iam, logical_id = self._routes.get(path, (None, False, "Unknown"))
        handler = load_handler(spec) if spec else self.handler_for("/v2/authorizations/applyToken")
        event = proxy_event(
            "POST", path, body, headers or {}, resource=path, iam_caller="wallet-backend" if iam else None
        )
        response = handler(event, LambdaContext(function_name=logical_id))
        return Answer(
            response["statusCode"], json.loads(response["body"]), response.get("headers") or {}, response["body"]
        )

    def call(self, path: str, body: dict[str, Any], client_id: str | None = CLIENT_ID, **headers: str) -> Answer:
        """A signed Open API call (or a plain wallet call); explicit headers override the signed ones."""
        text = json.dumps(body)
        sent = {"Content-Type": "application/json; charset=UTF-8"}
        if client_id is not None and not path.startswith("/wallet/"):
            sent.update(signed_headers(path, text, client_id))
        sent.update(headers)
        return self.raw(path, text, sent)

    # -- the flow's steps -------------------------------------------------------------------------------

    def auth_code(self, scopes: list[str] | None = None, user_id: str = USER_ID, app_id: str = APP_ID,
                  consented: list[str] | None = None) -> str:
        body: dict[str, Any] = {"userId": user_id, "appId": app_id}
        if scopes is not None:
            body["scopes"] = scopes
        body["consentedScopes"] = consented if consented is not None else (scopes or [])
        answer = self.call("/wallet/getAuthCode", body)
        assert answer.code == "SUCCESS", answer.body
        return answer.body["authCode"]

    def apply_code(self, code: str, app_id: str = APP_ID, client_id: str = CLIENT_ID) -> Answer:
        return self.call(
            "/v2/authorizations/applyToken",
            {"appId": app_id, "authClientId": client_id, "grantType": "AUTHORIZATION_CODE", "authCode": code},
            client_id=client_id,
        )

    def refresh(self, refresh_token: str, app_id: str = APP_ID, client_id: str = CLIENT_ID) -> Answer:
        return self.call(
            "/v2/authorizations/applyToken",
            {"appId": app_id, "authClientId": client_id, "grantType": "REFRESH_TOKEN",
             "refreshToken": refresh_token},
            client_id=client_id,
        )

    def inquiry(self, access_token: str, app_id: str = APP_ID, client_id: str = CLIENT_ID) -> Answer:
        return self.call(
            "/v2/users/inquiryUserInfo",
            {"appId": app_id, "authClientId": client_id, "accessToken": access_token},
            client_id=client_id,
        )

    def revoke(self, access_token: str, app_id: str = APP_ID, client_id: str = CLIENT_ID) -> Answer:
        return self.call(
            "/v2/authorizations/revoke",
            {"appId": app_id, "authClientId": client_id, "accessToken": access_token},
            client_id=client_id,
        )

    def tokens(self, scopes: list[str] | None = None) -> dict[str, Any]:
        answer = self.apply_code(self.auth_code(scopes))
        assert answer.code == "SUCCESS", answer.body
        return answer.body


BASE_URL = "https://wallet.test/api"


class InProcessTransport:
    """Carries the SDK's requests to the real handlers without a network, the way API Gateway would.

    `tamper` may rewrite each answer on its way back, as a man in the middle would.
    """

    def __init__(self, api: Api, tamper: Callable[[RawResponse], RawResponse] | None = None) -> None:
        self.api = api
        self.tamper = tamper
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: Any) -> RawResponse:
        assert url.startswith(BASE_URL), url
        self.requests.append((url, body, dict(headers)))
        answer = self.api.raw(url[len(BASE_URL):], body.decode("utf-8"), dict(headers))
        raw = RawResponse(answer.status, answer.text.encode("utf-8"), answer.headers)
        return self.tamper(raw) if self.tamper else raw


def merchant(api: Api, client_id: str = CLIENT_ID, tamper: Callable[[RawResponse], RawResponse] | None = None,
             **options: Any) -> MerchantClient:
    """The SDK as the demo merchant would build it, talking to the in-process handlers."""
    options.setdefault("wallet_public_keys", WALLET_KEY.public_key())
    options.setdefault("transport", InProcessTransport(api, tamper))
    options.setdefault("clock", runtime.clock())
    return MerchantClient(BASE_URL, client_id, MERCHANT_KEYS[client_id], **options)


# The one deliberate write of a refused request: a request whose signature verified is recorded there before
# it is judged (replay protection, see the README), so "a refused request changes nothing" leaves it out.
REQUEST_REPLAYS_TABLE = "RequestReplaysTable"


def snapshot(client: Any) -> dict[str, list[Any]]:
    """Every item of every table but the request-replay markers, sorted, for byte-for-byte comparisons."""
    tables = {}
    for name in sorted(set(client.list_tables()["TableNames"]) - {REQUEST_REPLAYS_TABLE}):
        items = client.scan(TableName=name, ConsistentRead=True)["Items"]
        tables[name] = sorted(json.dumps(item, sort_keys=True) for item in items)
    return tables


class SerialisedMoto:
    """moto's conditional writes are not atomic under threads; real DynamoDB's are. Serialise them."""

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def __enter__(self) -> SerialisedMoto:
        from moto.core.botocore_stubber import BotocoreStubber

        self._original = BotocoreStubber.__call__
        lock, original = self.lock, self._original

        def locked(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(stubber, *args, **kwargs)

        BotocoreStubber.__call__ = locked  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        BotocoreStubber.__call__ = self._original  # type: ignore[method-assign]


def tables_in_order(params: dict[str, Any]) -> tuple[str, ...]:
    """The tables a request names, in its order (botocore resolves the endpoint once per exact list)."""
    if "TableName" in params:
        return (params["TableName"],)
    if "RequestItems" in params:
        return tuple(params["RequestItems"])
    return tuple(action["TableName"] for item in params["TransactItems"] for action in item.values())
