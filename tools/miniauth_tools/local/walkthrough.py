"""`miniauth demo`: the whole authorization flow over HTTP, step by step, against a local server.

Wallet API calls are plain JSON (locally there is no IAM); Open API calls go through the merchant
SDK, so every request is signed and every answer's signature is verified. Any deviation from the
contract stops the walk with a non-zero exit. What a client may not have (a scope off its allow-list,
a grant type it lacks) is the contract's answer too, and the walk says so instead of stopping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from miniauth.scopes import fields_for
from miniauth_sdk import MerchantClient, OpenApiError, UrllibTransport
from miniauth_sdk.transport import Transport
from miniauth_tools.admin import AdminError

DEMO_CLIENT = "2022000000000001"
DEMO_APP = "2021000000000001"
DEMO_USER = "2088000000000001"
CONSENT_SCOPES = ["auth_user", "USER_LOGIN_ID"]
# authErrorScopes codes that say what the client or the request may not have, not that the server failed.
NOT_FOR_THIS_CLIENT = ("SCOPE_NOT_ALLOWED", "INVALID_SCOPE")


class Deviation(AdminError):
    """An answer is not what the contract says (one line from the CLI, like every expected failure)."""


@dataclass
class Walk:
    url: str
    merchant: MerchantClient
    app_id: str = DEMO_APP
    user_id: str = DEMO_USER
    retry_grace: float = 30.0
    scopes: list[str] = field(default_factory=lambda: list(CONSENT_SCOPES))
    out: TextIO | None = None
    sleep: Callable[[float], None] = time.sleep
    wallet_transport: Transport | None = None  # e.g. one that signs with SigV4 for a deployed stack

    def wallet(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return post_wallet(self.url, path, body, self.wallet_transport)


def post_wallet(url: str, path: str, body: dict[str, Any], transport: Transport | None = None) -> dict[str, Any]:
    """A Wallet API call (plain JSON unless the transport signs it); the answer's body, which must be an envelope."""
    send = transport or UrllibTransport(timeout=15)
    raw = send(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        answer = json.loads(raw.body)
        answer["result"]["resultCode"]
    except (ValueError, KeyError, TypeError):
        raise Deviation(f"{path} answered HTTP {raw.status} without a result envelope") from None
    return answer


def _short(secret: str) -> str:
    """Enough of a code or token to tell them apart on screen, never the whole value."""
    return f"{secret[:6]}… ({len(secret)} chars)"


def expect(answer: dict[str, Any], code: str) -> dict[str, Any]:
    got = answer["result"]["resultCode"]
    if got != code:
        raise Deviation(f"expected {code}, got {got}: {answer['result'].get('resultMessage')}")
    return answer


def refused(call: Callable[[], Any], code: str) -> str:
    try:
        call()
    except OpenApiError as error:
        if error.result_code != code:
            raise Deviation(f"expected {code}, got {error.result_code}: {error.result_message}") from None
        return f"refused with {error.result_code}: {error.result_message}"
    raise Deviation(f"expected {code}, but the call succeeded")


Step = Callable[[dict[str, Any]], str]  # takes the flow's state, returns what to print


def steps(walk: Walk) -> list[tuple[str, Step]]:
    user, app, sdk = walk.user_id, walk.app_id, walk.merchant

    def start_clean(state: dict[str, Any]) -> str:
        expect(walk.wallet("/wallet/authorizations/revoke", {"userId": user, "appId": app}), "SUCCESS")
        return "earlier consent and tokens of this user for this app are withdrawn"

    def silent(state: dict[str, Any]) -> str:
        answer = expect(walk.wallet("/wallet/getAuthCode", {"userId": user, "appId": app,
                                                              "scopes": ["auth_base"]}), "SUCCESS")
        if answer.get("authSuccessScopes") != ["auth_base"]:
            raise Deviation(f"auth_base granted as {answer.get('authSuccessScopes')}")
        return f"authCode {_short(answer['authCode'])} with no consent sheet"

    def consent_required(state: dict[str, Any]) -> str:
        answer = walk.wallet("/wallet/getAuthCode", {"userId": user, "appId": app, "scopes": walk.scopes})
        code = answer["result"]["resultCode"]
        if code == "SUCCESS":  # nothing the client may have needs consent: a code at once
            _granted(state, answer, walk.scopes)
            return (f"no consent sheet needed: authCode {_short(state['code'])} for "
                    f"{', '.join(state['granted'])}{_not_granted(answer)}")
        expect(answer, "USER_CONSENT_REQUIRED")
        required = answer.get("consentRequiredScopes", [])
        if "authCode" in answer or not required or not set(required) <= set(walk.scopes):
            raise Deviation(f"consent answer was {answer}")
        state["required"] = required
        shown = answer.get("appInfo", {}).get("appName", app)
        left = sorted(set(walk.scopes) - set(required) - {"auth_base", "USER_ID"})
        note = f" (not offered: {', '.join(left)}, see the next step)" if left else ""
        return f"the wallet must show the consent sheet for {shown!r}: {', '.join(required)}{note}"

    def consent(state: dict[str, Any]) -> str:
        if "code" in state:
            return "no consent was asked for"
        answer = expect(walk.wallet("/wallet/getAuthCode", {"userId": user, "appId": app, "scopes": walk.scopes,
                                                              "consentedScopes": state["required"]}), "SUCCESS")
        _granted(state, answer, walk.scopes)
        if not set(state["required"]) <= set(state["granted"]):
            raise Deviation(f"consented to {state['required']} but granted {state['granted']}")
        return (f"user allowed; authCode {_short(state['code'])} for {', '.join(state['granted'])}"
                f"{_not_granted(answer)}")

    def apply_token(state: dict[str, Any]) -> str:
        state["pair"] = pair = sdk.apply_token(state["code"], app)
        if pair.customer_id != user:
            raise Deviation(f"customerId {pair.customer_id}")
        return (f"signed applyToken: accessToken {_short(pair.access_token)} until "
                f"{pair.access_token_expiry_time.isoformat()}, customerId {pair.customer_id}")

    def inquiry(state: dict[str, Any]) -> str:
        info = sdk.inquiry_user_info(state["pair"].access_token, app)
        allowed = fields_for(state["granted"])
        if info.user_id != user:
            raise Deviation(f"userInfo of user {info.user_id}")
        beyond = sorted(set(info.fields) - allowed)
        if beyond:
            raise Deviation(f"userInfo shows {', '.join(beyond)}, outside the granted scopes")
        shown = {k: info.fields[k] for k in ("userId", "nickName") if k in info.fields}
        login = info.fields.get("loginIdInfos", [{}])[0].get("loginId") if info.fields.get("loginIdInfos") else None
        return (f"userInfo {json.dumps(shown)}, fields: {', '.join(sorted(info.fields))}"
                + (f"; loginId {login}" if login else ""))

    def refresh(state: dict[str, Any]) -> str:
        state["old_refresh"] = state["pair"].refresh_token
        try:
            state["pair"] = fresh = sdk.refresh(state["old_refresh"], app)
        except OpenApiError as error:
            if error.result_code != "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE":
                raise
            state["no_refresh"] = True
            return f"refused with {error.result_code}: this client may not refresh (the next two steps are skipped)"
        return f"new pair: accessToken {_short(fresh.access_token)}; the old refresh token is now used"

    def reuse(state: dict[str, Any]) -> str:
        if state.get("no_refresh"):
            return "skipped: this client may not refresh"
        if walk.retry_grace > 0:
            wait = walk.retry_grace + 1.5  # time is counted in whole seconds: the window may last a second more
            if walk.out:
                print(f"        (waiting {wait:.1f} s: inside RetryGraceSeconds a reuse counts as a "
                      "retry and gets a fresh pair)", file=walk.out, flush=True)
            walk.sleep(wait)
        return refused(lambda: sdk.refresh(state["old_refresh"], app), "USED_REFRESH_TOKEN")

    def grant_revoked(state: dict[str, Any]) -> str:
        if state.get("no_refresh"):
            return "skipped: this client may not refresh"
        detail = refused(lambda: sdk.inquiry_user_info(state["pair"].access_token, app), "INVALID_ACCESS_TOKEN")
        return f"the reuse revoked the whole grant: newest access token {detail}"

    def again(state: dict[str, Any]) -> str:
        answer = expect(walk.wallet("/wallet/getAuthCode", {"userId": user, "appId": app,
                                                              "scopes": walk.scopes}), "SUCCESS")
        state["pair"] = sdk.apply_token(answer["authCode"], app)
        return "consent is remembered: a new code without the sheet, exchanged for a new pair"

    def revoke(state: dict[str, Any]) -> str:
        sdk.revoke(state["pair"].access_token, app)
        return "signed revoke: SUCCESS"

    def revoked(state: dict[str, Any]) -> str:
        return "revoked token " + refused(lambda: sdk.inquiry_user_info(state["pair"].access_token, app),
                                           "INVALID_ACCESS_TOKEN")

    return [
        ("start clean", start_clean),
        ("silent auth_base code", silent),
        ("consent-scoped code without consent", consent_required),
        ("the user consents", consent),
        ("applyToken", apply_token),
        ("inquiryUserInfo", inquiry),
        ("refresh", refresh),
        ("reuse of the old refresh token", reuse),
        ("the grant after a reuse", grant_revoked),
        ("a new code, consent remembered", again),
        ("revoke", revoke),
        ("inquiryUserInfo with the revoked token", revoked),
    ]


def _granted(state: dict[str, Any], answer: dict[str, Any], requested: list[str]) -> None:
    """Keep the code and its scopes; only what this client or request may not have may be left out."""
    state["code"], state["granted"] = answer["authCode"], answer.get("authSuccessScopes", [])
    errors = answer.get("authErrorScopes") or {}
    wrong = {scope: code for scope, code in errors.items() if code not in NOT_FOR_THIS_CLIENT}
    if wrong or set(state["granted"]) | set(errors) != set(requested):
        raise Deviation(f"granted {state['granted']}, refused {errors} for {requested}")


def _not_granted(answer: dict[str, Any]) -> str:
    errors = answer.get("authErrorScopes") or {}
    return "; authErrorScopes: " + ", ".join(f"{s} {c}" for s, c in sorted(errors.items())) if errors else ""


def play(walk: Walk, out: TextIO) -> int:
    """Run every step, print each; 0 when all behaved, 1 at the first deviation."""
    heading = (f"miniauth demo against {walk.url} as merchant {walk.merchant.client_id}, app {walk.app_id}, "
               f"user {walk.user_id}, scopes {', '.join(walk.scopes)}")
    return run_steps(walk, steps(walk), out, heading, "demo complete: every step behaved as the contract says")


def run_steps(walk: Walk, plan: list[tuple[str, Step]], out: TextIO, heading: str, closing: str) -> int:
    """Play `plan` in order, printing each step; 0 when all behaved, 1 at the first deviation."""
    walk.out = out
    state: dict[str, Any] = {}
    print(heading, file=out, flush=True)
    for number, (title, step) in enumerate(plan, 1):
        try:
            detail = step(state)
        except Exception as error:  # noqa: BLE001 - any failure is reported as the step's deviation
            print(f"[{number:2}/{len(plan)}] {title}: FAILED: {type(error).__name__}: {error}", file=out, flush=True)
            return 1
        print(f"[{number:2}/{len(plan)}] {title}: ok\n        {detail}", file=out, flush=True)
    print(closing, file=out, flush=True)
    return 0
