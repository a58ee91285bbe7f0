"""One merchant, app, user, code and token pair, answered without a database.

`DynamoDBStub` answers at botocore's HTTP layer (so pynamodb and botocore do all their client-side
work: serialise, sign, parse) and counts the requests; `FakeStore` replaces the storage port, so
what remains is our own cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

CLIENT_ID = "2022000000000001"
APP_ID = "2021000000000001"
USER_ID = "2088000000000001"
GRANT_ID = "bench-grant"
AUTH_CODE = "bench-auth-code-" + "c" * 40
ACCESS_TOKEN = "bench-access-token-" + "a" * 40
REFRESH_TOKEN = "bench-refresh-token-" + "r" * 40
SCOPES = ["auth_base", "auth_user"]
PROFILE = {
    "nick_name": "Bench",
    "avatar": "https://example.com/a.png",
    "gender": "F",
    "login_id_infos": [{"loginIdType": "MOBILE_PHONE", "loginId": "13800000001"}],
}


@dataclass
class Canned:
    """The domain objects every answer is made of; hashes as the service stores them."""

    merchant_public_pem: str
    now: datetime

    def __post_init__(self) -> None:
        from miniauth.credentials import digest

        self.code_hash = digest(AUTH_CODE)
        self.access_hash = digest(ACCESS_TOKEN)
        self.refresh_hash = digest(REFRESH_TOKEN)

    def domain(self) -> dict[str, Any]:
        from miniauth.domain import models as m

        now, later = self.now, self.now + timedelta(days=1)
        common = {"user_id": USER_ID, "app_id": APP_ID, "client_id": CLIENT_ID}
        return {
            "client": m.Client(CLIENT_ID, "Bench Merchant", allowed_scopes=frozenset(SCOPES),
                               public_keys={"1": self.merchant_public_pem}),
            "app": m.App(APP_ID, CLIENT_ID, "Bench App"),
            "user": m.User(USER_ID, **PROFILE),
            "code": m.AuthCode(self.code_hash, GRANT_ID, scopes=tuple(SCOPES), status=m.CodeStatus.ISSUED,
                               issued_at=now, expires_at=later, **common),
            "access": m.Token(self.access_hash, m.TokenKind.ACCESS, GRANT_ID, issued_at=now, expires_at=later,
                              **common),
            "refresh": m.Token(self.refresh_hash, m.TokenKind.REFRESH, GRANT_ID, issued_at=now,
                               expires_at=later, **common),
            "consent": m.Consent(USER_ID, APP_ID, scopes=frozenset(SCOPES), open_user_info=True, consented_at=now,
                                 updated_at=now),
            "grant": m.Grant(GRANT_ID, scopes=tuple(SCOPES), status=m.GrantStatus.ACTIVE, created_at=now,
                             expires_at=later, access_hash=self.access_hash, refresh_hash=self.refresh_hash,
                             access_expires_at=later, **common),
        }

    def items(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(table name, key value) -> the item as DynamoDB's wire format, made by the real pynamodb models."""
        from miniauth.config import settings
        from miniauth.storage import items as i

        d = self.domain()
        tables = settings().tables
        c, code, grant, consent = d["client"], d["code"], d["grant"], d["consent"]
        made = {
            (tables.clients, CLIENT_ID): i.ClientItem(CLIENT_ID, name=c.name, allowed_scopes=SCOPES,
                                                      public_keys={"1": self.merchant_public_pem}),
            (tables.apps, APP_ID): i.AppItem(APP_ID, client_id=CLIENT_ID, name="Bench App"),
            (tables.users, USER_ID): i.UserItem(USER_ID, **PROFILE),
            (tables.auth_codes, self.code_hash): i.AuthCodeItem(
                self.code_hash, grant_id=GRANT_ID, user_id=USER_ID, app_id=APP_ID, client_id=CLIENT_ID,
                scopes=SCOPES, status=code.status.value, issued_at=code.issued_at, expires_at=code.expires_at),
            (tables.grants, GRANT_ID): i.GrantItem(
                GRANT_ID, user_id=USER_ID, app_id=APP_ID, client_id=CLIENT_ID, scopes=SCOPES, status="ACTIVE",
                created_at=grant.created_at, expires_at=grant.expires_at, access_hash=self.access_hash,
                refresh_hash=self.refresh_hash, access_expires_at=grant.access_expires_at),
            (tables.consents, USER_ID): i.ConsentItem(
                USER_ID, APP_ID, consented_scopes=set(SCOPES), open_user_info=True, consented_at=consent.consented_at,
                updated_at=consent.updated_at),
        }
        for name in ("access", "refresh"):
            t = d[name]
            made[(tables.tokens, t.token_hash)] = i.TokenItem(
                t.token_hash, kind=t.kind.value, grant_id=GRANT_ID, user_id=USER_ID, app_id=APP_ID,
                client_id=CLIENT_ID, issued_at=t.issued_at, expires_at=t.expires_at)
        return {key: item.serialize() for key, item in made.items()}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class DynamoDBStub:
    """A botocore `before-send.dynamodb` handler: answers from canned items, costs nothing, counts requests.

    Reads find items by their (first) key value; writes succeed (every condition holds, so the replay
    marker's PutItem records a first receipt); queries find nothing.
    """

    def __init__(self, items: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.items = items
        self.names: list[str] = []

    def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        value = next(iter(key.values()), {})
        return self.items.get((table, next(iter(value.values()), "")))

    def answer(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation == "GetItem":
            item = self._get(request["TableName"], request["Key"])
            return {"Item": item} if item else {}
        if operation == "TransactGetItems":
            found = [self._get(g["Get"]["TableName"], g["Get"]["Key"]) for g in request["TransactItems"]]
            return {"Responses": [{"Item": item} if item else {} for item in found]}
        if operation == "UpdateItem":  # the item as updated, only if asked for (DynamoDB's default: NONE)
            if request.get("ReturnValues", "NONE") == "NONE":
                return {}
            item = self._get(request["TableName"], request["Key"]) or request["Key"]
            return {"Attributes": item}
        if operation == "Query":
            return {"Items": [], "Count": 0, "ScannedCount": 0}
        return {}

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = request.headers["X-Amz-Target"].decode().rpartition(".")[2]
        self.names.append(operation)
        body = json.dumps(self.answer(operation, json.loads(request.body))).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
        return AWSResponse(request.url, 200, headers, _Raw(body))


class FakeStore:
    """The storage port (Registry + AuthorizationStore) over the canned domain objects: no pynamodb, no botocore."""

    def __init__(self, canned: Canned) -> None:
        self.d = canned.domain()

    def clear_cache(self) -> None:
        pass

    def client(self, client_id: str) -> Any:
        return self.d["client"] if client_id == CLIENT_ID else None

    def app(self, app_id: str) -> Any:
        return self.d["app"] if app_id == APP_ID else None

    def user(self, user_id: str) -> Any:
        return self.d["user"] if user_id == USER_ID else None

    def auth_code(self, code_hash: str) -> Any:
        return self.d["code"] if code_hash == self.d["code"].code_hash else None

    def token(self, token_hash: str) -> Any:
        for name in ("access", "refresh"):
            if self.d[name].token_hash == token_hash:
                return self.d[name]
        return None

    def first_receipt(self, *_: Any) -> bool:
        return True

    def consent(self, user_id: str, app_id: str) -> Any:
        return self.d["consent"] if (user_id, app_id) == (USER_ID, APP_ID) else None

    def grant_user_and_epoch(self, grant_id: str, user_id: str, app_id: str) -> tuple[Any, Any, int]:
        consent = self.consent(user_id, app_id)
        return (self.d["grant"] if grant_id == GRANT_ID else None, self.user(user_id),
                consent.epoch if consent else 0)

    def redeem_code(self, *_: Any) -> None:
        pass

    def rotate_refresh(self, *_: Any) -> None:
        pass

    def revoke_grant(self, *_: Any, **__: Any) -> bool:
        return True


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
