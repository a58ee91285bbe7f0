"""The `result` envelope every response carries, spelled for the caller's API version."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

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


def respond(result: ResultCode, version: str, message: str | None = None, **fields: Any) -> Response[str]:
    return Response(
        status_code=result.http_status,
        content_type=CONTENT_TYPE,
        body=render(result, version, message, **fields),
    )


def success(version: str, **fields: Any) -> Response[str]:
    return respond(SUCCESS, version, **fields)


def proxy_answer(result: ResultCode, version: str, message: str | None = None) -> dict[str, Any]:
    """An answer in Lambda proxy form, for refusals made outside the resolver."""
    return {
        "statusCode": result.http_status,
        "headers": {"Content-Type": CONTENT_TYPE},
        "body": render(result, version, message),
        "isBase64Encoded": False,
    }
