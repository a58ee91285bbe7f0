"""`miniauth serve`: the template's API on 127.0.0.1, on DynamoDB Local (or moto, or another endpoint), with data."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from miniauth_tools import admin
from miniauth_tools.local import dynamodb_local
from miniauth_tools.local.database import LOCAL_CREDENTIALS, LOCAL_REGION, EmbeddedDynamoDB, ensure_tables
from miniauth_tools.local.seeding import Seeded, load_data, seed_demo, wallet_key
from miniauth_tools.local.template import FunctionSpec, Template

STATE_FILE = "server.json"
SAM_ENV_FILE = "sam-env.json"
SECRET_ONLY_IN_THE_CLOUD = "WALLET_KEY_SECRET"
DYNAMODB_LOCAL, MOTO, EXTERNAL = "dynamodb-local", "moto", "external"
ENGINES = (DYNAMODB_LOCAL, MOTO)


@dataclass
class ServeOptions:
    template: Path = Path("template.yaml")
    host: str = "127.0.0.1"
    port: int = 3000
    dynamodb_endpoint: str | None = None
    dynamodb_port: int = 0
    dynamodb_host: str = "127.0.0.1"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    data: Path | None = None
    state_dir: Path = Path(".local")
    workers: int = 4
    engine: str | None = None  # DYNAMODB_LOCAL or MOTO; None: DynamoDB Local where Java and npm allow, else moto
    dynamodb_local_dir: Path = dynamodb_local.DEFAULT_DIR
    playground: bool = True


@dataclass
class Running:
    url: str
    dynamodb_endpoint: str
    engine: str
    seeded: Seeded
    routes: list[str]
    state_file: Path
    parameters: dict[str, str]
    dynamodb_pid: int | None = None
    playground_url: str | None = None


def parse_overrides(values: Sequence[str]) -> dict[str, str]:
    """`Name=Value` pairs as `sam --parameter-overrides` takes them (also `ParameterKey=..,ParameterValue=..`)."""
    overrides: dict[str, str] = {}
    for value in values:
        for token in shlex.split(value):
            if token.startswith("ParameterKey="):
                parts = dict(part.split("=", 1) for part in token.split(",") if "=" in part)
                name, setting = parts.get("ParameterKey"), parts.get("ParameterValue")
            else:
                name, _, setting = token.partition("=")
            if not name or setting is None or (not token.startswith("ParameterKey=") and "=" not in token):
                raise admin.AdminError(f"parameter override {token!r} is not Name=Value")
            overrides[name] = setting
    return overrides


def local_environment(endpoint: str, engine: str, wallet_document: Path) -> dict[str, str]:
    env = {
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or LOCAL_REGION,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "WALLET_KEY_FILE": str(wallet_document.resolve()),
        "POWERTOOLS_METRICS_DISABLED": "true",  # EMF goes nowhere locally; logs stay on
    }
    if engine != EXTERNAL or not os.environ.get("AWS_ACCESS_KEY_ID"):
        env.update(LOCAL_CREDENTIALS)
    return env


def function_specs(template: Template, extra_env: dict[str, str]) -> dict[str, FunctionSpec]:
    specs = {}
    for spec in template.functions():
        env = {k: v for k, v in spec.environment.items() if k != SECRET_ONLY_IN_THE_CLOUD}
        spec.environment = {**env, **extra_env}
        specs[spec.logical_id] = spec
    return specs


def _registry_tables(template: Template) -> admin.RegistryTables:
    # The admin CLI's local names are the template's logical ids.
    return admin.RegistryTables(**{name: template.table_name(logical) for name, logical in admin.LOCAL_NAMES.items()})


def _notice(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def check_port_free(host: str, port: int) -> None:
    """Fail in one line, before anything starts, when the API's port is taken."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the HTTP server binds it
        try:
            probe.bind((host, port))
        except OSError as error:
            raise port_error(host, port, error) from None


def port_error(host: str, port: int, error: OSError) -> admin.AdminError:
    if error.errno == errno.EADDRINUSE:
        return admin.AdminError(f"port {port} on {host} is already in use (another `miniauth serve`?): stop it, or "
                                f'pick another port: make run RUN_ARGS="--port {port + 1}" (--port 0 picks a free one)')
    return admin.AdminError(f"cannot listen on {host}:{port}: {error.strerror or error}")


def start_database(options: ServeOptions, stack: contextlib.ExitStack, notice: Callable[[str], None],
                   ) -> tuple[str, str, int | None]:
    """(endpoint, engine, pid of its process) of the database the functions will use, started if local."""
    if options.dynamodb_endpoint:
        return str(options.dynamodb_endpoint), EXTERNAL, None
    if options.engine in (None, DYNAMODB_LOCAL):
        engine = dynamodb_local.DynamoDBLocal(options.dynamodb_local_dir, options.dynamodb_port, notice)
        try:
            engine.start()
        except dynamodb_local.Unavailable as why:
            engine.stop()
            if options.engine == DYNAMODB_LOCAL:
                raise admin.AdminError(str(why)) from None
            notice(f"miniauth: notice: {why}; using the embedded moto database instead (--engine moto)")
        else:
            stack.callback(engine.stop)
            return engine.endpoint_url, DYNAMODB_LOCAL, engine.pid
    database = EmbeddedDynamoDB(options.dynamodb_host, options.dynamodb_port).start()
    stack.callback(database.stop)
    return database.endpoint_url, MOTO, None


@contextlib.contextmanager
def running(options: ServeOptions, notice: Callable[[str], None] = _notice) -> Iterator[Running]:
    """Start database, data, functions and HTTP; stop them all on exit."""
    from miniauth_tools.local.invoker import InProcessInvoker, ProcessInvoker
    from miniauth_tools.local.server import LocalApi

    if not options.template.is_file():
        raise admin.AdminError(f"{options.template}: no such template (run from the project folder or pass --template)")
    try:
        template = Template(options.template, options.parameter_overrides)
    except KeyError as unknown:
        raise admin.AdminError(f"the template has no parameter {unknown.args[0]!r}") from None
    keys = options.state_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True)

    check_port_free(options.host, options.port)

    with contextlib.ExitStack() as stack:
        endpoint, engine, database_pid = start_database(options, stack, notice)
        environment = local_environment(endpoint, engine, keys / "wallet_keys.json")
        os.environ.update(environment)
        ensure_tables(endpoint, template, environment["AWS_DEFAULT_REGION"])

        with admin.bound(_registry_tables(template), endpoint, environment["AWS_DEFAULT_REGION"]):
            if options.data:
                seeded, wallet_file = load_data(options.data)
            else:
                seeded, wallet_file = seed_demo(keys), None
        wallet_document, wallet_public = wallet_key(keys, wallet_file)
        seeded.wallet_public_key, seeded.wallet_key_document = str(wallet_public), str(wallet_document)

        specs = function_specs(template, environment)
        if options.workers > 0:
            invoker: Any = ProcessInvoker(specs, options.workers)
            stack.callback(invoker.close)
            invoker.warm()
        else:
            invoker = InProcessInvoker(specs)
        pages = None
        if options.playground:
            from miniauth_tools.local.playground import Playground

            pages = Playground(options.template.parent / "openapi.yaml", _registry_tables(template), endpoint,
                               environment["AWS_DEFAULT_REGION"])
        try:
            api = LocalApi(list(specs.values()), invoker, options.host, options.port, pages=pages).start()
        except OSError as error:
            raise port_error(options.host, options.port, error) from None
        stack.callback(api.stop)

        state = Running(api.url, endpoint, engine, seeded, api.table.describe(),
                        options.state_dir / STATE_FILE, dict(template.parameters), database_pid,
                        api.url + pages.PREFIX if pages else None)
        _write_state(state)
        _write_sam_env(options.state_dir / SAM_ENV_FILE, endpoint, wallet_document)
        stack.callback(state.state_file.unlink, missing_ok=True)
        yield state


def _write_state(state: Running) -> None:
    """What `miniauth demo` and `miniauth events` read to find this server and its keys."""
    document = {
        "url": state.url,
        "dynamodbEndpoint": state.dynamodb_endpoint,
        "dynamodbEngine": state.engine,
        "dynamodbPid": state.dynamodb_pid,
        "region": os.environ.get("AWS_DEFAULT_REGION"),
        "merchantKeys": state.seeded.merchant_keys,
        "walletPublicKey": state.seeded.wallet_public_key,
        "parameters": state.parameters,
        "pid": os.getpid(),
    }
    state.state_file.write_text(json.dumps(document, indent=2) + "\n")


def _write_sam_env(path: Path, endpoint: str, wallet_document: Path) -> None:
    """An --env-vars file for `sam local invoke|start-api`: this server's database and wallet key.

    Inside Docker, 127.0.0.1 is the container itself: the functions reach the host's database as
    host.docker.internal (on Linux add `--add-host host.docker.internal:host-gateway`, and start the
    embedded database with `--dynamodb-host 0.0.0.0`).
    """
    port = endpoint.rsplit(":", 1)[-1].rstrip("/")
    variables = {
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://host.docker.internal:{port}",
        SECRET_ONLY_IN_THE_CLOUD: "",
        "WALLET_KEY_DOCUMENT": wallet_document.read_text(),
    }
    admin.replace_private_file(path, (json.dumps({"Parameters": variables}, indent=2) + "\n").encode())


def read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((state_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def banner(state: Running) -> str:
    lines = [f"miniauth local API: {state.url}  (Ctrl-C stops it)"]
    kind = {DYNAMODB_LOCAL: f"DynamoDB Local {dynamodb_local.VERSION}, in memory",
            MOTO: "embedded moto, one request at a time"}.get(state.engine, "external endpoint")
    lines.append(f"DynamoDB: {state.dynamodb_endpoint} ({kind}); tables from the template")
    lines.append("routes:")
    lines += [f"  {route}" for route in state.routes]
    seeded = state.seeded
    lines.append(f"clients: {', '.join(seeded.clients) or '-'}")
    lines.append(f"apps: {', '.join(seeded.apps) or '-'}")
    lines.append(f"users: {', '.join(seeded.users) or '-'}")
    if seeded.merchant_keys:
        lines.append("merchant private keys (keyVersion 1):")
        lines += [f"  {client}: {path}" for client, path in seeded.merchant_keys.items()]
    lines.append(f"wallet public key (verify answers with it): {seeded.wallet_public_key}")
    lines.append(f"state for `miniauth demo` and `miniauth events`: {state.state_file}")
    lines.append(f"env vars for `sam local ... --env-vars`: {state.state_file.parent / SAM_ENV_FILE}")
    if state.playground_url:
        lines.append(f"playground (wallet simulator, API reference): {state.playground_url}")
    lines.append("access log: one line per request (method, path, status, resultCode, ms)")
    lines.append("try: miniauth code --scope auth_user   (an authCode for your backend), or: miniauth demo")
    return "\n".join(lines)
