"""The `result` envelope every response carries, spelled for the caller's API version, in Lambda proxy form."""

from __future__ import annotations

import json
from typing import Any

from miniauth.results import SUCCESS, ResultCode

CONTENT_TYPE = "application/json; charset=UTF-8"
V1, V2 = "v1", "v2"


def version_of(resource: str | None) -> str:
    return V1 if (resource or "").startswith("/v1/") else V2


def render(result: ResultCode, version: str, message: str | None = None, **fields: Any) -> str:
    body = {
        "result": {
            "resultCode": result.spelled(version),
            "resultStatus": result.status,
            "resultMessage": message or result.message,
        },
        **{k: v for k, v in fields.items() if v is not None},
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def respond(result: ResultCode, version: str, message: str | None = None, **fields: Any) -> dict[str, Any]:
    """The answer API Gateway relays: status, one Content-Type, the rendered envelope."""
    return {
        "statusCode": result.http_status,
        "headers": {"Content-Type": CONTENT_TYPE},
        "body": render(result, version, message, **fields),
        "isBase64Encoded": False,
    }


def success(version: str, **fields: Any) -> dict[str, Any]:
    return respond(SUCCESS, version, **fields)
