"""Fresh copies of events/*.json for `sam local invoke`: placeholders filled, Request-Time now, signed.

A committed event carries REPLACE_WITH_* placeholders and a dummy signature; the function would
refuse it (INVALID_SIGNATURE, or a Request-Time outside the skew window). This writes copies that
pass, signed with a merchant key, for a code and tokens you pass or take live from a local server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from miniauth import signing
from miniauth.clock import iso8601

PLACEHOLDERS = ("REPLACE_WITH_AUTH_CODE", "REPLACE_WITH_ACCESS_TOKEN", "REPLACE_WITH_REFRESH_TOKEN")


def _set_header(event: dict[str, Any], name: str, value: str) -> None:
    for key in list(event.get("headers") or {}):
        if key.lower() == name.lower():
            del event["headers"][key]
            (event.get("multiValueHeaders") or {}).pop(key, None)
    event.setdefault("headers", {})[name] = value
    if event.get("multiValueHeaders") is not None:
        event["multiValueHeaders"][name] = [value]


def signed_copy(event: dict[str, Any], client_id: str, private_key: Any, key_version: str,
                values: Mapping[str, str], now: datetime) -> dict[str, Any]:
    copy = json.loads(json.dumps(event))
    body = copy.get("body") or ""
    for placeholder, value in values.items():
        body = body.replace(placeholder, value)
    document = json.loads(body) if body else {}
    if isinstance(document, dict) and "authClientId" in document:
        document["authClientId"] = client_id
        body = json.dumps(document, separators=(",", ":"))
    copy["body"] = body
    moment = iso8601(now)
    context = copy.setdefault("requestContext", {})
    context["requestTimeEpoch"] = int(now.timestamp() * 1000)
    context["requestTime"] = now.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    if copy["path"].startswith("/wallet/"):
        return copy  # the wallet API is not signed
    content = signing.signed_content(copy["resource"], client_id, moment, body)
    _set_header(copy, "Client-Id", client_id)
    _set_header(copy, "Request-Time", moment)
    _set_header(copy, "Signature", signing.signature_header(key_version, signing.sign(private_key, content)))
    return copy


def write_signed_events(source: Path, target: Path, client_id: str, private_key_file: Path, key_version: str,
                        values: Mapping[str, str], now: datetime | None = None) -> list[tuple[Path, list[str]]]:
    """Write a signed copy of every event; returns each file with the placeholders it still holds."""
    key = signing.load_private_key(private_key_file.read_bytes())
    moment = now or datetime.now(UTC)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source.glob("*.json")):
        copy = signed_copy(json.loads(path.read_text()), client_id, key, key_version, values, moment)
        out = target / path.name
        out.write_text(json.dumps(copy, indent=2, ensure_ascii=False) + "\n")
        written.append((out, [p for p in PLACEHOLDERS if p in (copy.get("body") or "")]))
    return written


def live_values(url: str, merchant: Any, user_id: str, app_id: str) -> dict[str, str]:
    """A fresh authCode, and an access/refresh pair from another one, from a running local server."""
    from miniauth_tools.local.walkthrough import Deviation, post_wallet

    def code() -> str:
        answer = post_wallet(url, "/wallet/getAuthCode", {"userId": user_id, "appId": app_id})
        if "authCode" not in answer:
            raise Deviation(f"getAuthCode answered {answer['result']['resultCode']}")
        return answer["authCode"]

    pair = merchant.apply_token(code(), app_id)
    return {"REPLACE_WITH_AUTH_CODE": code(), "REPLACE_WITH_ACCESS_TOKEN": pair.access_token,
            "REPLACE_WITH_REFRESH_TOKEN": pair.refresh_token}
