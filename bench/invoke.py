"""Child process: one Lambda container. Init, then the first invocation, then warm ones, each timed in CPU.

    python bench/invoke.py '<json config>'   (run by bench/warm.py; prints one JSON line)

Modes: "http" answers DynamoDB at botocore's HTTP layer (pynamodb + botocore work is counted),
"port" replaces the storage port (only our own code is counted), "floor" is a botocore client
created at init and its GetItem calls. Every mode also times the crypto floor (one RSA-2048
PKCS#1 v1.5 SHA-256 sign + one verify) between calls, in the same process.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUCKETS = (  # first match wins: (bucket, path fragments of the profiled function's file)
    ("signing", ("cryptography", "miniauth/signing.py", "_hashlib", "hashlib")),
    ("pynamodb/botocore", ("pynamodb", "botocore", "urllib3", "dateutil", "jmespath", "bench/canned.py")),
    ("validation", ("pydantic_core", "miniauth/protocol/intake.py", "miniauth/protocol/requests.py")),
    ("logging/metrics", ("logging", "metrics", "miniauth/observability.py", "middleware_factory")),
    ("resolver", ("miniauth/protocol", "miniauth/results.py")),
    ("domain", ("miniauth/",)),
)

OPERATIONS = {  # operation -> (path, body, wallet API?)
    "applyToken": ("/v2/authorizations/applyToken", "code"),
    "refresh": ("/v2/authorizations/applyToken", "refresh"),
    "inquiryUserInfo": ("/v2/users/inquiryUserInfo", "access"),
    "revoke": ("/v2/authorizations/revoke", "access"),
    "unknownCode": ("/v2/authorizations/applyToken", "unknown"),
    "getAuthCode": ("/wallet/getAuthCode", "wallet"),
}


def _body(kind: str) -> dict[str, Any]:
    from canned import ACCESS_TOKEN, APP_ID, AUTH_CODE, CLIENT_ID, REFRESH_TOKEN, USER_ID

    base = {"appId": APP_ID, "authClientId": CLIENT_ID}
    return {
        "code": {**base, "grantType": "AUTHORIZATION_CODE", "authCode": AUTH_CODE},
        "unknown": {**base, "grantType": "AUTHORIZATION_CODE", "authCode": "no-such-code"},
        "refresh": {**base, "grantType": "REFRESH_TOKEN", "refreshToken": REFRESH_TOKEN},
        "access": {**base, "accessToken": ACCESS_TOKEN},
        "wallet": {"userId": USER_ID, "appId": APP_ID, "scopes": ["auth_base"], "consentedScopes": []},
    }[kind]


def events(operation: str, count: int, merchant_key: Any) -> list[dict[str, Any]]:
    """Signed API Gateway proxy events, made before the clock starts."""
    from miniauth import signing
    from miniauth.clock import SystemClock, iso8601
    from miniauth_tools.local.events import proxy_event

    from canned import CLIENT_ID

    path, kind = OPERATIONS[operation]
    text = json.dumps(_body(kind))
    made = []
    for _ in range(count):
        headers = {"Content-Type": "application/json"}
        if kind != "wallet":
            moment = iso8601(SystemClock().now())
            content = signing.signed_content(path, CLIENT_ID, moment, text)
            headers.update({"Client-Id": CLIENT_ID, "Request-Time": moment,
                            "Signature": signing.signature_header("1", signing.sign(merchant_key, content))})
        made.append(proxy_event("POST", path, text, headers, resource=path,
                                iam_caller="wallet-backend" if kind == "wallet" else None))
    return made


def _where(file: str) -> str:
    """A profiled file's path inside the checkout, so the checkout's own path cannot match a bucket."""
    file = file.replace(os.sep, "/")
    root = str(ROOT).replace(os.sep, "/") + "/"
    return file[len(root):] if file.startswith(root) else file


def _bucket(key: tuple[str, int, str]) -> str:
    file = _where(key[0])
    return next((name for name, parts in BUCKETS if any(p in file for p in parts)), "other")


def _shared(key: tuple[str, int, str]) -> bool:
    """Builtins and the standard library are charged to whoever called them."""
    file = _where(key[0])
    return file == "~" or ("/lib/python3" in file and "-packages/" not in file) or file.startswith("<")


def bucketed(profile: cProfile.Profile, calls: int) -> dict[str, float]:
    """Self time per bucket, in ms per call; builtins and stdlib go to their callers' buckets (by their share)."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    memo: dict[Any, dict[str, float]] = {}

    def owners(key: Any, depth: int = 0) -> dict[str, float]:
        if key in memo:
            return memo[key]
        if not _shared(key) or depth > 6 or key not in stats or not stats[key][4]:
            memo[key] = {_bucket(key) if not _shared(key) else "other": 1.0}
            return memo[key]
        memo[key] = {"other": 1.0}  # guards recursion
        callers = stats[key][4]
        weight = sum(tt for (_, _, tt, _) in callers.values()) or 1.0
        shares: dict[str, float] = {}
        for caller, (_, _, tt, _) in callers.items():
            for bucket, part in owners(caller, depth + 1).items():
                shares[bucket] = shares.get(bucket, 0.0) + part * (tt or weight / len(callers)) / weight
        memo[key] = shares
        return shares

    totals: dict[str, float] = {}
    for key, (_, _, tottime, _, _) in stats.items():
        for bucket, part in owners(key).items():
            totals[bucket] = totals.get(bucket, 0.0) + part * tottime * 1000 / calls
    return totals


class Crypto:
    """The floor: one RSA-2048 PKCS#1 v1.5 SHA-256 sign and one verify of a response-sized message."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public = self.key.public_key()
        self.message = b"POST /v2/authorizations/applyToken\n2022000000000001.2026-11-22T02:00:00.000+00:00."
        self.message += b"x" * 300  # about an applyToken answer

    def __call__(self) -> float:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        begun = time.process_time()
        signature = self.key.sign(self.message, padding.PKCS1v15(), hashes.SHA256())
        self.public.verify(signature, self.message, padding.PKCS1v15(), hashes.SHA256())
        return time.process_time() - begun


def main(config: dict[str, Any]) -> dict[str, Any]:
    sys.path[:0] = [str(ROOT / "bench")]
    from botocore.handlers import BUILTIN_HANDLERS

    from canned import Canned, DynamoDBStub, FakeStore, utcnow

    mode, operation, calls = config["mode"], config["operation"], config["calls"]
    stub = DynamoDBStub({})
    BUILTIN_HANDLERS.append(("before-send.dynamodb", stub))  # every botocore session made from now on
    canned = Canned(config["merchant_public_pem"], utcnow())
    if mode == "port":
        import miniauth.storage.dynamodb as dynamodb

        fake = FakeStore(canned)
        dynamodb.DynamoDBStore = lambda *_, **__: fake  # type: ignore[assignment,misc]

    if mode == "floor":
        import botocore.session

        from canned import CLIENT_ID

        client = botocore.session.get_session().create_client("dynamodb")

        def invoke(_: Any) -> bool:
            return "Item" in client.get_item(TableName=os.environ["CLIENTS_TABLE"],
                                              Key={"authClientId": {"S": CLIENT_ID}})
    else:
        from miniauth_tools.local.functions import LambdaContext

        sys.path[:0] = [config["code_dir"], config["layer_dir"]]
        import app  # what the Lambda runtime does at init

        context = LambdaContext(function_name=config["function"])

        def invoke(event: Any) -> bool:
            return json.loads(app.handler(event, context)["body"])["result"]["resultCode"] == config["expect"]

    from miniauth.signing import load_private_key

    stub.items = canned.items()
    merchant_key = load_private_key(config["merchant_private_pem"])
    profiled = config.get("profile_calls", 0)
    made = events(operation, 1 + calls + profiled, merchant_key) if mode != "floor" else [None] * (1 + calls + profiled)
    crypto = Crypto()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    stub.names.clear()
    begun = time.process_time()
    ok = invoke(made[0])
    first = time.process_time() - begun
    first_requests = list(stub.names)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    warm, floors, warm_requests = [], [], []
    for event in made[1:1 + calls]:
        floors.append(crypto())
        stub.names.clear()
        begun = time.process_time()
        ok = invoke(event) and ok
        warm.append(time.process_time() - begun)
        warm_requests = list(stub.names)
    buckets: dict[str, float] = {}
    if profiled:
        profile = cProfile.Profile()
        for event in made[1 + calls:]:
            profile.enable()
            invoke(event)
            profile.disable()
        buckets = bucketed(profile, profiled)
    return {
        "ok": ok,
        "first_ms": first * 1000,
        "warm_ms": statistics.median(warm) * 1000,
        "crypto_ms": statistics.median(floors) * 1000,
        "first_requests": first_requests,
        "warm_requests": warm_requests,
        "rss_before_mib": rss_before / 1024,
        "rss_after_mib": rss_after / 1024,
        "buckets": buckets,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
