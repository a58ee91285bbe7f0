"""Schemathesis hooks for test_fuzz.py: sign each generated Open API request as the demo merchant would.

Loaded by `st run` through SCHEMATHESIS_HOOKS; MINIAUTH_FUZZ_STATE names the served API's server.json.
Without a valid signature every generated request with a well-formed body would stop at the signature
check, and the fuzzer would never reach what lies behind it. MINIAUTH_FUZZ_TALLY names a file that gets
one line per call (path, signed or not, HTTP status, resultCode), so the test can show the signing worked.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from miniauth_sdk import MerchantClient

CLIENT_ID = "2022000000000001"
SIGNED = ("Client-Id", "Request-Time", "Signature")

_state = json.loads(Path(os.environ["MINIAUTH_FUZZ_STATE"]).read_text())
_merchant = MerchantClient.from_files(_state["url"], CLIENT_ID, _state["merchantKeys"][CLIENT_ID],
                                      _state["walletPublicKey"])
_tally = Path(os.environ["MINIAUTH_FUZZ_TALLY"])
_tally_lock = threading.Lock()  # st's workers are threads of one process
_signed_cases: set[str] = set()


class SignedBody(requests.auth.AuthBase):
    """Runs on the prepared request, after requests has serialised the body: the signature covers those bytes."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        signed = _merchant.signed_request(urlsplit(request.url).path, raw)
        # Only the signature headers: the generated Content-Type is part of what is being tested.
        request.headers.update({name: signed[name] for name in SIGNED})
        return request


def _tests_headers(case: Any) -> bool:
    """A case generated to break the headers (negative mode, or one left out) is sent as generated."""
    component = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if component is not None and component.mode == GenerationMode.NEGATIVE:
        return True
    return not all(name in (case.headers or {}) for name in SIGNED)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.path.startswith(("/v1/", "/v2/")) and not _tests_headers(case):
        kwargs["auth"] = SignedBody()
        _signed_cases.add(case.id)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    try:
        code = json.loads(response.content)["result"]["resultCode"]
    except (ValueError, KeyError, TypeError):
        code = None
    line = {"method": case.method, "path": case.path, "signed": case.id in _signed_cases,
            "status": response.status_code, "resultCode": code}
    with _tally_lock, _tally.open("a") as out:
        out.write(json.dumps(line) + "\n")
