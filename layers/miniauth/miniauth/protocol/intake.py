"""What a request must be before any route reads it (contract section 4): a UTF-8 JSON object of at most 64 KiB.

Plain JSON parsing is lenient where an authorization server must not be: the last of two duplicate
keys would silently win (the signed bytes say one thing, the handler would read another), NaN and
Infinity would be numbers, and text that is not Unicode would reach the tables. A Content-Type other
than JSON is refused too. Everything here is PARAM_ILLEGAL, before the signature check and before any
table is read.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from miniauth.results import ParamIllegal

MAX_BODY_BYTES = 64 * 1024  # contract section 4 (ours)
JSON_MEDIA_TYPE = "application/json"


def route_of(event: dict[str, Any]) -> str:
    """The route an event is for: API Gateway's resource, the template's path, which is what is signed.
    Not the path: behind a custom domain it carries the base path mapping ("/miniauth/v2/...").
    An event without a resource (a hand-made one) falls back to its path."""
    return event.get("resource") or event.get("path") or ""


def header(headers: dict[str, str] | None, name: str) -> str | None:
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def header_values(event: dict[str, Any], name: str) -> list[str]:
    """Every value a header was sent with: API Gateway keeps only the last one in `headers`."""
    wanted = name.lower()
    values: list[str] = []
    for key, sent in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == wanted:
            values.extend(sent or [])
    return values


def raw_body(event: dict[str, Any]) -> bytes:
    """The bytes the merchant sent (and signed): never a re-serialisation."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ParamIllegal("The body is not valid Base64.") from None
    return raw.encode("utf-8", "surrogatepass")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body = dict(pairs)
    if len(body) != len(pairs):
        raise ParamIllegal("The body repeats a key.")
    return body


def _no_constant(name: str) -> Any:
    raise ParamIllegal(f"{name} is not a JSON number.")


def _check_text(value: Any) -> None:
    """Lone surrogates (`"\\ud800"`) decode to strings that are not Unicode and cannot be stored or hashed."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ParamIllegal("The body contains text that is not valid Unicode.") from None
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _check_content_type(event: dict[str, Any]) -> None:
    """Each Content-Type sent must be JSON (media types are case-insensitive, RFC 9110); none is read as JSON."""
    for headers in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
        for name, value in headers.items():
            if name.lower() != "content-type":
                continue
            sent = value if isinstance(value, list) else [value]
            if any((v or "").split(";")[0].strip().lower() != JSON_MEDIA_TYPE for v in sent):
                raise ParamIllegal("Content-Type must be application/json.")


def read_body(event: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object; ParamIllegal unless it is one the routes may safely read."""
    _check_content_type(event)
    raw = raw_body(event)
    if len(raw) > MAX_BODY_BYTES:
        raise ParamIllegal("The body is larger than 64 KiB.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParamIllegal("The body is not UTF-8.") from None
    try:
        body = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise ParamIllegal("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ParamIllegal("The body must be a JSON object.")
    _check_text(body)
    return body
