"""`miniauth smoke`: one whole authorization flow against a deployed stack, every answer checked.

The Wallet API routes are AWS_IAM on API Gateway, so each wallet call is signed with SigV4 (service
`execute-api`) using the caller's AWS credentials; Open API calls go through the merchant SDK with a
registered merchant's key, and every answer's signature is verified with the wallet's public key.
The steps are the demo's (`local/walkthrough.py`), plus the wallet's own list and withdrawal; the
refresh-token reuse step (it waits out RetryGraceSeconds and revokes a grant) only with `reuse=True`.

Local tooling like `admin.py`: never imported by a handler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from miniauth_sdk import MerchantClient, UrllibTransport
from miniauth_sdk.transport import RawResponse, Transport
from miniauth_tools.admin import AdminError
from miniauth_tools.local.walkthrough import CONSENT_SCOPES, Deviation, Walk, expect, refused, run_steps, steps

_REGION_IN_URL = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", re.I)


class SigV4Transport:
    """POST like the SDK's transport, signed with SigV4 for API Gateway (`execute-api`)."""

    def __init__(self, credentials: Any, region: str, inner: Transport | None = None) -> None:
        self.credentials = credentials
        self.region = region
        self.inner = inner or UrllibTransport(timeout=15)

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> RawResponse:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(request)
        return self.inner(url, body, dict(request.headers.items()))


def region_of(url: str, region: str | None = None) -> str:
    """--region, else the region in an execute-api URL, else the AWS configuration's."""
    if region:
        return region
    found = _REGION_IN_URL.search(url)
    if found:
        return found.group(1)
    import boto3

    configured = boto3.session.Session().region_name
    if not configured:
        raise AdminError("no AWS region: pass --region")
    return configured


def caller_credentials() -> Any:
    import boto3

    credentials = boto3.session.Session().get_credentials()
    if credentials is None:
        raise AdminError("no AWS credentials to sign the Wallet API calls with (SigV4)")
    return credentials.get_frozen_credentials()


def smoke_steps(walk: Walk, reuse: bool = False) -> list[tuple[str, Callable[[dict[str, Any]], str]]]:
    demo = dict(steps(walk))
    user, app, sdk = walk.user_id, walk.app_id, walk.merchant

    def listed(state: dict[str, Any]) -> str:
        answer = expect(walk.wallet("/wallet/authorizations/list", {"userId": user}), "SUCCESS")
        mine = [entry for entry in answer.get("authorizations", []) if entry.get("appId") == app]
        if not mine or not set(CONSENT_SCOPES) <= set(mine[0].get("scopes", [])):
            raise Deviation(f"the list does not show app {app} with {', '.join(CONSENT_SCOPES)}: {mine}")
        return f"authorizations/list shows app {app} with {', '.join(mine[0]['scopes'])}"

    def withdraw(state: dict[str, Any]) -> str:
        answer = expect(walk.wallet("/wallet/getAuthCode", {"userId": user, "appId": app,
                                                              "scopes": CONSENT_SCOPES}), "SUCCESS")
        pair = sdk.apply_token(answer["authCode"], app)
        expect(walk.wallet("/wallet/authorizations/revoke", {"userId": user, "appId": app}), "SUCCESS")
        detail = refused(lambda: sdk.inquiry_user_info(pair.access_token, app), "INVALID_ACCESS_TOKEN")
        return f"authorizations/revoke withdrew the consent; a token issued before it is {detail}"

    def gone(state: dict[str, Any]) -> str:
        answer = expect(walk.wallet("/wallet/authorizations/list", {"userId": user}), "SUCCESS")
        if any(entry.get("appId") == app for entry in answer.get("authorizations", [])):
            raise Deviation(f"app {app} is still listed after the withdrawal")
        answer = expect(walk.wallet("/wallet/getAuthCode", {"userId": user, "appId": app,
                                                              "scopes": CONSENT_SCOPES}), "USER_CONSENT_REQUIRED")
        return "the list no longer shows the app, and a new code needs the consent sheet again"

    names = ["start clean", "silent auth_base code", "consent-scoped code without consent", "the user consents"]
    plan = [(name, demo[name]) for name in names]
    plan.append(("authorizations/list", listed))
    names = ["applyToken", "inquiryUserInfo", "refresh"]
    if reuse:
        names += ["reuse of the old refresh token", "the grant after a reuse"]
    names += ["a new code, consent remembered", "revoke", "inquiryUserInfo with the revoked token"]
    plan += [(name, demo[name]) for name in names]
    plan += [("authorizations/revoke", withdraw), ("after the withdrawal", gone)]
    return plan


def play(walk: Walk, out: TextIO, reuse: bool = False) -> int:
    """Every step, printed; 0 when all behaved, 1 at the first deviation."""
    heading = (f"miniauth smoke against {walk.url} as merchant {walk.merchant.client_id}, app {walk.app_id}, "
               f"user {walk.user_id}")
    return run_steps(walk, smoke_steps(walk, reuse), out, heading,
                     "smoke test passed: every step behaved as the contract says")


def merchant(url: str, client_id: str, private_key_pem: bytes, wallet_keys: str | Mapping[str, str],
             key_version: str, api_version: str) -> MerchantClient:
    return MerchantClient(url, client_id, private_key_pem, wallet_keys, key_version=key_version,
                          api_version=api_version, timeout=15)
