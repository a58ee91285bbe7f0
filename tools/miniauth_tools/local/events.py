"""API Gateway REST (v1) proxy events, shaped as `sam local start-api` builds them."""

from __future__ import annotations

import time
import uuid
from typing import Any

STAGE = "Prod"


def _multi(values: dict[str, str]) -> dict[str, list[str]]:
    return {k: [v] for k, v in values.items()}


def proxy_event(
    method: str,
    path: str,
    body: str | None,
    headers: dict[str, str] | None = None,
    resource: str | None = None,
    source_ip: str = "127.0.0.1",
    iam_caller: str | None = None,
) -> dict[str, Any]:
    headers = dict(headers or {})
    now = time.time()
    request_id = str(uuid.uuid4())
    identity: dict[str, Any] = {
        "accountId": None,
        "apiKey": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityPoolId": None,
        "sourceIp": source_ip,
        "user": None,
        "userAgent": headers.get("User-Agent", "Custom User Agent String"),
        "userArn": None,
    }
    if iam_caller:
        identity.update(caller=iam_caller, user=iam_caller, userArn=f"arn:aws:iam::123456789012:user/{iam_caller}")
    return {
        "body": body,
        "headers": headers,
        "multiValueHeaders": _multi(headers),
        "httpMethod": method.upper(),
        "isBase64Encoded": False,
        "multiValueQueryStringParameters": None,
        "path": path,
        "pathParameters": None,
        "queryStringParameters": None,
        "resource": resource or path,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "1234567890",
            "domainName": "localhost:3000",
            "extendedRequestId": None,
            "httpMethod": method.upper(),
            "identity": identity,
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": "123456",
            "resourcePath": resource or path,
            "stage": STAGE,
        },
        "version": "1.0",
    }
