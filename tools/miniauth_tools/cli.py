"""`miniauth`: administer the registry (clients, their keys, apps, users), generate key pairs, run locally.

    miniauth [--stack-name NAME | --clients-table T --apps-table T --users-table T]
             [--endpoint-url URL] [--region R] <group> <command> ...
    miniauth serve [--port 3000] [--parameter-overrides Name=Value ...] [--data FILE]
    miniauth demo [--url URL]
    miniauth [--stack-name NAME] wallet-keys init|rotate|public [--file FILE | --secret-id ARN]
    miniauth smoke --stack-name NAME | --url URL ...

Expected failures print one line, `miniauth: error: ...`, on stderr and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from miniauth.domain.models import GRANT_TYPES, ClientStatus
from miniauth_tools import admin, wallet_key_admin
from miniauth_tools.admin import AdminError, RegistryTables
from miniauth_tools.local.commands import add_local_commands

PROG = "miniauth"
Handler = Callable[[argparse.Namespace, TextIO], None]


# -- commands --------------------------------------------------------------------------------------------


def _clients_add(args: argparse.Namespace, out: TextIO) -> None:
    pem = admin.read_public_key(args.public_key) if args.public_key else None
    view = admin.add_client(args.client_id, args.name, args.scope or (), args.grant_type, pem,
                            args.key_version, replace=args.replace)
    print(f"{'replaced' if args.replace else 'added'} client {view['authClientId']}", file=out)


def _clients_list(args: argparse.Namespace, out: TextIO) -> None:
    views = admin.list_clients()
    if args.json:
        _json(views, out)
        return
    for view in views:
        print("\t".join([
            view["authClientId"], view["status"], view["name"],
            "scopes=" + (",".join(view["allowedScopes"]) or "-"),
            "keys=" + (",".join(view["keyVersions"]) or "-"),
        ]), file=out)


def _clients_status(status: ClientStatus) -> Handler:
    def run(args: argparse.Namespace, out: TextIO) -> None:
        admin.set_client_status(args.client_id, status)
        print(f"client {args.client_id} is {status.value}", file=out)

    return run


def _clients_add_key(args: argparse.Namespace, out: TextIO) -> None:
    view = admin.add_key(args.client_id, args.key_version, admin.read_public_key(args.public_key))
    print(f"client {args.client_id} keys: {','.join(view['keyVersions'])}", file=out)


def _clients_remove_key(args: argparse.Namespace, out: TextIO) -> None:
    view = admin.remove_key(args.client_id, args.key_version, force=args.force)
    print(f"client {args.client_id} keys: {','.join(view['keyVersions']) or '-'}", file=out)


def _apps_add(args: argparse.Namespace, out: TextIO) -> None:
    view = admin.add_app(args.app_id, args.client_id, args.name, args.logo, replace=args.replace)
    print(f"{'replaced' if args.replace else 'added'} app {view['appId']} of client {view['authClientId']}",
          file=out)


def _apps_list(args: argparse.Namespace, out: TextIO) -> None:
    views = admin.list_apps(args.client_id)
    if args.json:
        _json(views, out)
        return
    for view in views:
        print("\t".join([view["appId"], view["authClientId"], view["name"], view.get("logo") or "-"]), file=out)


def _users_put(args: argparse.Namespace, out: TextIO) -> None:
    view = admin.put_user(args.user_id, admin.read_profile(args.file))
    print(f"put user {view['userId']}", file=out)


def _users_get(args: argparse.Namespace, out: TextIO) -> None:
    _json(admin.get_user(args.user_id), out)


def _keys_generate(args: argparse.Namespace, out: TextIO) -> None:
    private_path, public_path = admin.generate_key_pair(args.out, args.name, args.bits)
    print(private_path, file=out)
    print(public_path, file=out)


def _wallet_store(args: argparse.Namespace) -> wallet_key_admin.KeyStore:
    """--file, or the stack's WalletKeySecret (--stack-name), or --secret-id: exactly one."""
    if args.stack_name and (args.file or args.secret_id):
        raise AdminError("wallet-keys: --stack-name names the secret already; drop --file/--secret-id")
    if args.file:
        return wallet_key_admin.FileStore(args.file)
    if args.stack_name:
        outputs = admin.describe_stack_outputs(args.stack_name, args.region)
        return wallet_key_admin.SecretStore(wallet_key_admin.secret_from_outputs(args.stack_name, outputs),
                                            args.region)
    if args.secret_id:
        return wallet_key_admin.SecretStore(args.secret_id, args.region)
    raise AdminError("wallet-keys: say where the key document is: --file FILE, --stack-name NAME or --secret-id ARN")


def _wallet_keys_init(args: argparse.Namespace, out: TextIO) -> None:
    store = _wallet_store(args)
    document = wallet_key_admin.init(store, args.bits, force=args.force)
    print(f"wrote a new wallet key document to {store.where}: keyVersion {document.current} (current)", file=out)
    print("publish its public key to merchants: miniauth wallet-keys public ...", file=out)


def _wallet_keys_rotate(args: argparse.Namespace, out: TextIO) -> None:
    store = _wallet_store(args)
    if args.make_current and (args.current or args.drop):
        raise AdminError("wallet-keys rotate: --make-current adds a key; --current and --drop change existing ones")
    rotation = wallet_key_admin.rotate(store, make_current=args.make_current, current=args.current,
                                       drop=args.drop, bits=args.bits)
    document = rotation.document
    if rotation.added:
        print(f"added keyVersion {rotation.added}", file=out)
    if rotation.dropped:
        print(f"dropped keyVersion {rotation.dropped}", file=out)
    print(f"{store.where}: keyVersions {', '.join(document.versions())}, current {document.current}", file=out)
    if rotation.added and document.current != rotation.added:
        print(f"next: publish keyVersion {rotation.added}'s public key (wallet-keys public --key-version "
              f"{rotation.added}), then: wallet-keys rotate --current {rotation.added}", file=out)


def _wallet_keys_public(args: argparse.Namespace, out: TextIO) -> None:
    document, keys = wallet_key_admin.public_keys(_wallet_store(args), args.key_version)
    if args.out:
        for path in wallet_key_admin.write_public_keys(keys, args.out):
            print(path, file=out)
    elif args.json:
        _json({**wallet_key_admin.describe(document), "publicKeys": keys}, out)
    else:
        for version, pem in keys.items():
            print(f"# keyVersion {version}{' (current)' if version == document.current else ''}", file=out)
            print(pem, end="", file=out)


def _smoke(args: argparse.Namespace, out: TextIO) -> int:
    from miniauth_tools import smoke
    from miniauth_tools.local.walkthrough import Walk

    stack_name, region = args.smoke_stack_name or args.stack_name, args.smoke_region or args.region
    if bool(stack_name) == bool(args.url):
        raise AdminError("smoke: give --stack-name NAME (its ApiUrl output) or --url URL")
    outputs = admin.describe_stack_outputs(stack_name, region) if stack_name else {}
    url = args.url or outputs.get("ApiUrl")
    if not url:
        raise AdminError(f"stack {stack_name} has no output ApiUrl")
    wallet_keys: Any
    if args.wallet_public_key:
        wallet_keys = _wallet_public_keys(args.wallet_public_key)
    elif stack_name:
        secret = wallet_key_admin.secret_from_outputs(stack_name, outputs)
        wallet_keys = wallet_key_admin.public_keys(wallet_key_admin.SecretStore(secret, region))[1]
    else:
        raise AdminError("smoke: --url needs --wallet-public-key (a PEM, or `wallet-keys public --json` output)")
    try:
        private_key = Path(args.private_key).read_bytes()
    except OSError as error:
        raise AdminError(f"{args.private_key}: {error.strerror or error}") from None
    signer = smoke.SigV4Transport(smoke.caller_credentials(), smoke.region_of(url, region))
    try:
        merchant = smoke.merchant(url, args.client_id, private_key, wallet_keys, args.key_version, args.api_version)
    except ValueError as error:
        raise AdminError(f"smoke: {error}") from None
    walk = Walk(url.rstrip("/"), merchant, app_id=args.app_id, user_id=args.user_id, retry_grace=args.retry_grace,
                wallet_transport=signer)
    return smoke.play(walk, out, reuse=args.reuse)


def _wallet_public_keys(path: str) -> Any:
    """A PEM file (any keyVersion), or the JSON of `wallet-keys public --json` (keys by version)."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise AdminError(f"{path}: {error.strerror or error}") from None
    if text.lstrip().startswith("{"):
        try:
            return dict(json.loads(text)["publicKeys"])
        except (ValueError, KeyError, TypeError):
            raise AdminError(f"{path}: not the output of `wallet-keys public --json`") from None
    return text


def _json(value: Any, out: TextIO) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False), file=out)


# -- the parser ------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors (still exit 2) on one line that starts like every other error."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix(PROG).strip()
        self.exit(2, f"{PROG}: error: {where + ': ' if where else ''}{message} (try '{self.prog} --help')\n")


def _key_version(text: str) -> str:
    try:
        return admin.check_key_version(text)
    except AdminError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Administer miniauth's registry (clients, keys, apps, users) and run it "
                                          "locally (serve, demo, events).")
    where = parser.add_argument_group(
        "tables", "--stack-name reads the table names from a deployed stack's outputs; otherwise each table is "
                  "the option, else $CLIENTS_TABLE/$APPS_TABLE/$USERS_TABLE, else the local name.")
    where.add_argument("--stack-name", metavar="NAME", help="CloudFormation stack deployed from template.yaml")
    for field, local in admin.LOCAL_NAMES.items():
        where.add_argument(f"--{field}-table", metavar="TABLE", help=f"default ${admin.ENV_VARS[field]} or {local}")
    parser.add_argument("--endpoint-url", metavar="URL", help="a local DynamoDB endpoint (e.g. http://localhost:8000)")
    parser.add_argument("--region", metavar="R", help="AWS region (default: the AWS configuration's)")
    groups = parser.add_subparsers(dest="group", metavar="<group>", required=True, parser_class=_Parser)

    clients = groups.add_parser("clients", help="merchant clients and their public keys")
    commands = clients.add_subparsers(dest="command", metavar="<command>", required=True)
    add = commands.add_parser("add", help="register a client")
    add.add_argument("--client-id", required=True, metavar="ID")
    add.add_argument("--name", required=True)
    add.add_argument("--scope", action="append", metavar="S", help="a consent scope it may request (repeatable)")
    add.add_argument("--grant-type", action="append", choices=GRANT_TYPES,
                     help="repeatable; default both")
    add.add_argument("--public-key", metavar="FILE", help="RSA public key PEM (with --key-version)")
    add.add_argument("--key-version", type=_key_version, metavar="N")
    add.add_argument("--replace", action="store_true",
                     help="overwrite an existing client entirely: status ACTIVE, only the key given here")
    add.set_defaults(run=_clients_add, tables=True)
    listing = commands.add_parser("list", help="one line per client: id, status, name, scopes, key versions")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_clients_list, tables=True)
    for name, status in (("suspend", ClientStatus.SUSPENDED), ("activate", ClientStatus.ACTIVE)):
        command = commands.add_parser(name, help=f"set a client's status to {status.value} (running functions "
                                                 "see it once their registry cache expires)")
        command.add_argument("client_id", metavar="ID")
        command.set_defaults(run=_clients_status(status), tables=True)
    add_key = commands.add_parser("add-key", help="register another public key version (rotation)")
    add_key.add_argument("client_id", metavar="ID")
    add_key.add_argument("--key-version", required=True, type=_key_version, metavar="N")
    add_key.add_argument("--public-key", required=True, metavar="FILE")
    add_key.set_defaults(run=_clients_add_key, tables=True)
    remove_key = commands.add_parser("remove-key", help="retire a public key version")
    remove_key.add_argument("client_id", metavar="ID")
    remove_key.add_argument("--key-version", required=True, type=_key_version, metavar="N")
    remove_key.add_argument("--force", action="store_true", help="allow removing the client's last key")
    remove_key.set_defaults(run=_clients_remove_key, tables=True)

    apps = groups.add_parser("apps", help="mini programs")
    commands = apps.add_subparsers(dest="command", metavar="<command>", required=True)
    add = commands.add_parser("add", help="register a mini program of an existing client")
    add.add_argument("--app-id", required=True, metavar="ID", help=f"at most {admin.MAX_APP_ID} characters")
    add.add_argument("--client-id", required=True, metavar="CID")
    add.add_argument("--name", required=True)
    add.add_argument("--logo", metavar="URL")
    add.add_argument("--replace", action="store_true", help="overwrite an existing app")
    add.set_defaults(run=_apps_add, tables=True)
    listing = commands.add_parser("list", help="one line per app: id, client, name, logo")
    listing.add_argument("--client-id", metavar="CID", help="only this client's apps")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_apps_list, tables=True)

    users = groups.add_parser("users", help="wallet users' profiles")
    commands = users.add_subparsers(dest="command", metavar="<command>", required=True)
    put = commands.add_parser("put", help="write a user's profile from a JSON file (contract field names)")
    put.add_argument("--user-id", required=True, metavar="ID")
    put.add_argument("--file", required=True, metavar="profile.json")
    put.set_defaults(run=_users_put, tables=True)
    get = commands.add_parser("get", help="print a user's profile as JSON")
    get.add_argument("user_id", metavar="ID")
    get.set_defaults(run=_users_get, tables=True)

    keys = groups.add_parser("keys", help="RSA key pairs for request signing")
    commands = keys.add_subparsers(dest="command", metavar="<command>", required=True)
    generate = commands.add_parser("generate", help="write NAME_private.pem (0600) and NAME_public.pem")
    generate.add_argument("--out", required=True, metavar="DIR")
    generate.add_argument("--name", default="key")
    generate.add_argument("--bits", type=int, default=2048)
    generate.set_defaults(run=_keys_generate, tables=False)

    wallet_keys = groups.add_parser("wallet-keys", help="the wallet's response-signing keys (WalletKeySecret)")
    commands = wallet_keys.add_subparsers(dest="command", metavar="<command>", required=True)

    def key_store(command: argparse.ArgumentParser) -> None:
        where = command.add_mutually_exclusive_group()
        where.add_argument("--file", metavar="FILE", help="a key document file (written 0600)")
        where.add_argument("--secret-id", metavar="ARN", help="a Secrets Manager secret (default with --stack-name: "
                                                              "the stack's WalletKeySecretArn output)")
        command.set_defaults(tables=False)

    init = commands.add_parser("init", help="generate keyVersion 1 and store the key document; refuses to replace "
                                            "an existing value")
    key_store(init)
    init.add_argument("--bits", type=int, default=admin.MIN_KEY_BITS, help="RSA key size (at least 2048)")
    init.add_argument("--force", action="store_true", help="replace whatever is stored, and every key in it")
    init.set_defaults(run=_wallet_keys_init)
    rotate = commands.add_parser("rotate", help="add keyVersion N+1 (publish it, then --current N+1), or change "
                                                "the current version, or drop an old one")
    key_store(rotate)
    rotate.add_argument("--make-current", action="store_true",
                        help="make the added key current at once (only when no merchant needs notice)")
    rotate.add_argument("--current", type=_key_version, metavar="N", help="make existing keyVersion N current; "
                                                                          "adds no key")
    rotate.add_argument("--drop", type=_key_version, metavar="N", help="remove keyVersion N (not the current one); "
                                                                       "adds no key")
    rotate.add_argument("--bits", type=int, default=admin.MIN_KEY_BITS)
    rotate.set_defaults(run=_wallet_keys_rotate)
    public = commands.add_parser("public", help="the public key PEM of every keyVersion, for merchants")
    key_store(public)
    public.add_argument("--key-version", type=_key_version, metavar="N", help="only this version")
    shown = public.add_mutually_exclusive_group()
    shown.add_argument("--out", metavar="DIR", help="write wallet_public_v<N>.pem files instead of printing")
    shown.add_argument("--json", action="store_true", help='{"currentKeyVersion", "keyVersions", "publicKeys"}')
    public.set_defaults(run=_wallet_keys_public)

    smoke = groups.add_parser("smoke", help="one whole flow against a deployed stack: SigV4-signed Wallet API calls, "
                                            "signed Open API calls, every answer verified")
    smoke.add_argument("--stack-name", dest="smoke_stack_name", metavar="NAME",
                       help="the stack (its ApiUrl and WalletKeySecretArn outputs)")
    smoke.add_argument("--url", metavar="URL", help="the API base URL, stage included (instead of --stack-name)")
    smoke.add_argument("--region", dest="smoke_region", metavar="R",
                       help="for SigV4 and the stack (default: from the URL, else the AWS configuration)")
    smoke.add_argument("--client-id", required=True, metavar="ID", help="a registered merchant client")
    smoke.add_argument("--private-key", required=True, metavar="FILE", help="that client's private key PEM")
    smoke.add_argument("--key-version", type=_key_version, default="1", metavar="N")
    smoke.add_argument("--app-id", required=True, metavar="ID", help="an app of that client")
    smoke.add_argument("--user-id", required=True, metavar="ID", help="a test user (its consent for the app is "
                                                                       "withdrawn at the start and at the end)")
    smoke.add_argument("--wallet-public-key", metavar="FILE",
                       help="PEM or `wallet-keys public --json` output (default with --stack-name: from the secret)")
    smoke.add_argument("--api-version", choices=["v2", "v1"], default="v2")
    smoke.add_argument("--reuse", action="store_true",
                       help="also replay a used refresh token (waits RetryGraceSeconds, revokes that grant)")
    smoke.add_argument("--retry-grace", type=float, default=30.0, metavar="SECONDS",
                       help="the stack's RetryGraceSeconds, for --reuse (default 30)")
    smoke.set_defaults(run=_smoke, tables=False)

    add_local_commands(groups)
    return parser


# -- running ---------------------------------------------------------------------------------------------


def resolve_tables(args: argparse.Namespace) -> RegistryTables:
    if args.stack_name:
        return admin.tables_from_outputs(args.stack_name, admin.describe_stack_outputs(args.stack_name, args.region))
    return admin.tables_from_options({field: getattr(args, f"{field}_table") for field in admin.LOCAL_NAMES})


LOOPBACK = ("127.0.0.1", "localhost", "::1")
LOCAL_STATE = Path(".local") / "server.json"


def _running_server() -> dict[str, Any] | None:
    """The state of a `miniauth serve` started from this folder and still running, if any."""
    try:
        state = json.loads(LOCAL_STATE.read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if state.get("dynamodbEndpoint") else None


def _local_database(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(endpoint, region) for the registry commands; a loopback database needs no AWS account.

    With nothing naming tables elsewhere (no --stack-name, --endpoint-url, --*-table or $*_TABLE),
    the database of a `miniauth serve` running from this folder is used. Local databases accept any
    credentials, so where none are configured local ones are supplied, and the region defaults too.
    """
    endpoint, region = args.endpoint_url, args.region
    named = args.stack_name or any(getattr(args, f"{field}_table") for field in admin.LOCAL_NAMES) or any(
        os.environ.get(variable) for variable in admin.ENV_VARS.values())
    if endpoint is None and not named:
        state = _running_server()
        if state:
            endpoint = state["dynamodbEndpoint"]
            region = region or state.get("region")
            print(f"{PROG}: using the running local server's database ({endpoint})", file=sys.stderr)
    if endpoint and (urlsplit(endpoint).hostname or "") in LOOPBACK:
        from miniauth_tools.local.database import LOCAL_CREDENTIALS, LOCAL_REGION

        if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
            os.environ.update(LOCAL_CREDENTIALS)
        region = region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or LOCAL_REGION
    return endpoint, region


def _aws_message(error: Exception) -> str:
    if isinstance(error, PynamoDBException):
        action = (error.msg or "request failed").lower()
        if error.cause_response_code == "ResourceNotFoundException":
            table = re.search(r"on table \((.*?)\)", str(error))
            name = f"table {table.group(1)}" if table else "the table"
            return f"{action}: {name} not found (check --stack-name or the --*-table options, --region, --endpoint-url)"
        if error.cause_response_code:
            return f"{action}: {error.cause_response_code}: {error.cause_response_message}"
        return str(error)
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{error.operation_name}: {info.get('Code', 'error')}: {info.get('Message', '')}"
    return str(error)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.stack_name and any(getattr(args, f"{field}_table") for field in admin.LOCAL_NAMES):
            parser.error("--stack-name and the --*-table options exclude each other")
        if args.run is _clients_add and (args.public_key is None) != (args.key_version is None):
            parser.error("clients add: --public-key and --key-version go together")
    except SystemExit as stop:  # --help (0) and usage errors (2)
        return int(stop.code or 0)
    try:
        if args.tables:
            args.endpoint_url, args.region = _local_database(args)
            with admin.bound(resolve_tables(args), args.endpoint_url, args.region):
                code = args.run(args, sys.stdout)
        else:
            code = args.run(args, sys.stdout)
    except AdminError as error:
        message = str(error)
    except (PynamoDBException, ClientError, BotoCoreError) as error:
        message = _aws_message(error)
    except KeyboardInterrupt:
        return 130
    else:
        return code or 0
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
