"""Registry administration: clients, their keys, apps and users, for the `miniauth` command line.

Local tooling like `local/`: never imported by a handler. Every expected failure is an AdminError
carrying one line for the operator.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from miniauth.domain.models import GRANT_TYPES, PROFILE_FIELDS, ClientStatus, ProfileField, ProfileKind
from miniauth.scopes import REGISTRY
from miniauth.signing import MAX_CLIENT_ID, MIN_KEY_BITS, WeakKey, load_public_key, well_formed_client_id
from miniauth.storage.items import AppItem, ClientItem, UserItem

CONDITION_FAILED = "ConditionalCheckFailedException"
MAX_APP_ID = 32  # contract section 4, field limits

# Stack outputs (template.yaml) -> the tables this tool administers.
STACK_OUTPUTS = {"clients": "ClientsTableName", "apps": "AppsTableName", "users": "UsersTableName"}
ENV_VARS = {"clients": "CLIENTS_TABLE", "apps": "APPS_TABLE", "users": "USERS_TABLE"}
LOCAL_NAMES = {"clients": "ClientsTable", "apps": "AppsTable", "users": "UsersTable"}
_MODELS: dict[str, type[Model]] = {"clients": ClientItem, "apps": AppItem, "users": UserItem}


class AdminError(Exception):
    """An expected failure: the message is shown to the operator as is."""


# -- where the tables are --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryTables:
    clients: str
    apps: str
    users: str


def tables_from_options(options: dict[str, str | None], env: dict[str, str] | os._Environ[str] = os.environ,
                        ) -> RegistryTables:
    """An explicit option wins, then the functions' environment variable, then the local name."""
    names = {field: options.get(field) or env.get(ENV_VARS[field]) or LOCAL_NAMES[field] for field in LOCAL_NAMES}
    return RegistryTables(**names)


def describe_stack_outputs(stack_name: str, region: str | None = None) -> dict[str, str]:
    """OutputKey -> OutputValue of a deployed stack (CloudFormation describe_stacks)."""
    import boto3  # a dev dependency: only this path needs it

    cloudformation = boto3.client("cloudformation", region_name=region)
    stacks = cloudformation.describe_stacks(StackName=stack_name).get("Stacks", [])
    if not stacks:
        raise AdminError(f"stack {stack_name} not found")
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def tables_from_outputs(stack_name: str, outputs: dict[str, str]) -> RegistryTables:
    missing = [key for key in STACK_OUTPUTS.values() if not outputs.get(key)]
    if missing:
        raise AdminError(f"stack {stack_name} has no output {', '.join(missing)}")
    return RegistryTables(**{field: outputs[key] for field, key in STACK_OUTPUTS.items()})


@contextmanager
def bound(tables: RegistryTables, endpoint_url: str | None = None, region: str | None = None) -> Iterator[None]:
    """Point the registry models at the tables (and endpoint/region) for the block, then put them back."""
    saved = []
    for field, model in _MODELS.items():
        meta = model.Meta
        saved.append((model, meta.table_name, meta.host, meta.region))
        meta.table_name = getattr(tables, field)
        if endpoint_url:
            meta.host = endpoint_url
        if region:
            meta.region = region
        model._connection = None  # pynamodb reconnects only when the table name changes
    try:
        yield
    finally:
        for model, table_name, host, model_region in saved:
            model.Meta.table_name, model.Meta.host, model.Meta.region = table_name, host, model_region
            model._connection = None


# -- validation ------------------------------------------------------------------------------------------


def check_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = sorted(set(scopes))
    unknown = [name for name in chosen if name not in REGISTRY]
    if unknown:
        raise AdminError(f"unknown scope {', '.join(unknown)} (known: {', '.join(sorted(REGISTRY))})")
    return chosen


def check_grant_types(grant_types: Iterable[str] | None) -> list[str]:
    chosen = sorted(set(grant_types or GRANT_TYPES))
    unknown = [name for name in chosen if name not in GRANT_TYPES]
    if unknown:
        raise AdminError(f"unknown grant type {', '.join(unknown)}")
    return chosen


def check_client_id(client_id: str) -> str:
    """What a Client-Id header may carry (the Open API refuses any other before looking it up)."""
    if not well_formed_client_id(client_id):
        raise AdminError(f"client id must be 1 to {MAX_CLIENT_ID} printable ASCII characters without spaces")
    return client_id


def check_key_version(version: int | str) -> str:
    text = str(version)
    if not text.isdigit() or int(text) < 1:
        raise AdminError(f"key version must be a positive integer, not {text!r}")
    return str(int(text))  # what a Signature header's keyVersion=<n> is looked up by


def read_public_key(path: str | Path) -> str:
    """The PEM text of an RSA public key file (SubjectPublicKeyInfo or PKCS#1), validated."""
    text = _read_text(path)
    if "PRIVATE KEY-----" in text:
        raise AdminError(f"{path}: holds a private key; register only the public key")
    try:
        key = serialization.load_pem_public_key(text.encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise AdminError(f"{path}: not a PEM public key (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY)") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise AdminError(f"{path}: not an RSA public key")
    return f"{check_public_key(text, str(path))}\n"


def check_public_key(pem: str, where: str = "public key") -> str:
    """A merchant's public key as request verification will load it: RSA, at least MIN_KEY_BITS bits."""
    try:
        load_public_key(pem)
    except WeakKey as weak:
        raise AdminError(f"{where}: {weak}") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise AdminError(f"{where}: not an RSA public key PEM") from None
    return pem.strip()


def _read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AdminError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise AdminError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise AdminError(f"{path}: {error.strerror or error}") from None


# -- clients ---------------------------------------------------------------------------------------------


def _client(client_id: str) -> ClientItem:
    try:
        return ClientItem.get(client_id, consistent_read=True)
    except DoesNotExist:
        raise AdminError(f"unknown client {client_id}") from None


def _keys(item: ClientItem) -> dict[str, str]:
    return {str(k): str(v) for k, v in (item.public_keys.as_dict() if item.public_keys else {}).items()}


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), version) if version.isdigit() else (1 << 62, version)


def client_view(item: ClientItem) -> dict[str, Any]:
    return {
        "authClientId": item.client_id,
        "name": item.name,
        "status": item.status,
        "allowedScopes": sorted(item.allowed_scopes or []),
        "grantTypes": sorted(item.grant_types or []),
        "keyVersions": sorted(_keys(item), key=_version_order),
    }


def add_client(client_id: str, name: str, scopes: Iterable[str] = (), grant_types: Iterable[str] | None = None,
               public_key_pem: str | None = None, key_version: str | None = None, replace: bool = False,
               ) -> dict[str, Any]:
    if not name.strip():
        raise AdminError("client name must not be empty")
    if public_key_pem:
        public_key_pem = check_public_key(public_key_pem) + "\n"
    item = ClientItem(
        check_client_id(client_id),
        name=name,
        status=ClientStatus.ACTIVE.value,
        allowed_scopes=check_scopes(scopes),
        grant_types=check_grant_types(grant_types),
        public_keys={check_key_version(key_version): public_key_pem} if public_key_pem and key_version else {},
    )
    try:
        item.save(condition=None if replace else ClientItem.client_id.does_not_exist())
    except PutError as error:
        if error.cause_response_code == CONDITION_FAILED:
            raise AdminError(f"client {client_id} already exists (use --replace to overwrite it)") from None
        raise
    return client_view(item)


def list_clients() -> list[dict[str, Any]]:
    return sorted((client_view(item) for item in ClientItem.scan(consistent_read=True)),
                  key=lambda view: view["authClientId"])


def set_client_status(client_id: str, status: ClientStatus) -> dict[str, Any]:
    item = ClientItem(client_id)
    try:
        item.update(actions=[ClientItem.status.set(status.value)], condition=ClientItem.client_id.exists())
    except UpdateError as error:
        if error.cause_response_code == CONDITION_FAILED:
            raise AdminError(f"unknown client {client_id}") from None
        raise
    return client_view(item)


def add_key(client_id: str, key_version: str, public_key_pem: str) -> dict[str, Any]:
    version = check_key_version(key_version)
    public_key_pem = check_public_key(public_key_pem) + "\n"
    item = _client(client_id)
    keys = _keys(item)
    if version in keys:
        raise AdminError(f"client {client_id} already has key version {version} (remove it first)")
    _replace_keys(item, keys, {**keys, version: public_key_pem})
    return client_view(item)


def remove_key(client_id: str, key_version: str, force: bool = False) -> dict[str, Any]:
    version = check_key_version(key_version)
    item = _client(client_id)
    keys = _keys(item)
    if version not in keys:
        known = ", ".join(sorted(keys, key=_version_order)) or "none"
        raise AdminError(f"client {client_id} has no key version {version} (has: {known})")
    if len(keys) == 1 and not force:
        raise AdminError(f"key version {version} is the last key of client {client_id} (use --force to remove it)")
    _replace_keys(item, keys, {k: v for k, v in keys.items() if k != version})
    return client_view(item)


def _replace_keys(item: ClientItem, read: dict[str, str], keys: dict[str, str]) -> None:
    """Write the whole key map, only if it still is what was read: a concurrent change refuses, never merges."""
    unchanged = ClientItem.public_keys == read
    if not read:  # an item written without the attribute reads as an empty map
        unchanged |= ClientItem.public_keys.does_not_exist()
    try:
        item.update(actions=[ClientItem.public_keys.set(keys)], condition=ClientItem.client_id.exists() & unchanged)
    except UpdateError as error:
        if error.cause_response_code == CONDITION_FAILED:
            raise AdminError(f"client {item.client_id} changed while being updated; try again") from None
        raise


# -- apps ------------------------------------------------------------------------------------------------


def app_view(item: AppItem) -> dict[str, Any]:
    view: dict[str, Any] = {"appId": item.app_id, "authClientId": item.client_id, "name": item.name}
    if item.logo:
        view["logo"] = item.logo
    return view


def add_app(app_id: str, client_id: str, name: str, logo: str | None = None, replace: bool = False,
            ) -> dict[str, Any]:
    if not app_id or len(app_id) > MAX_APP_ID or app_id != app_id.strip():
        raise AdminError(f"app id must be 1 to {MAX_APP_ID} characters without surrounding spaces")
    if not name.strip():
        raise AdminError("app name must not be empty")
    if logo is not None and not re.match(r"^https?://\S+$", logo):
        raise AdminError("logo must be an http(s) URL")
    _client(client_id)
    item = AppItem(app_id, client_id=client_id, name=name, logo=logo)
    try:
        item.save(condition=None if replace else AppItem.app_id.does_not_exist())
    except PutError as error:
        if error.cause_response_code == CONDITION_FAILED:
            raise AdminError(f"app {app_id} already exists (use --replace to overwrite it)") from None
        raise
    return app_view(item)


def list_apps(client_id: str | None = None) -> list[dict[str, Any]]:
    condition = AppItem.client_id == client_id if client_id else None
    items = AppItem.scan(condition, consistent_read=True)
    return sorted((app_view(item) for item in items), key=lambda view: view["appId"])


# -- users -----------------------------------------------------------------------------------------------

# contract field -> UserItem attribute: status, then the profile as domain.models.User defines it
USER_FIELDS = {"status": "status", **{field.name: field.attribute for field in PROFILE_FIELDS}}
_STATUS = ProfileField("status", "status", ProfileKind.TEXT)


def read_profile(path: str | Path) -> dict[str, Any]:
    text = _read_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise AdminError(f"{path}: invalid JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    if not isinstance(document, dict):
        raise AdminError(f"{path}: the profile must be a JSON object")
    return document


def profile_attributes(user_id: str, profile: dict[str, Any]) -> dict[str, Any]:
    """The contract's camelCase profile -> UserItem keyword arguments, validated."""
    if not user_id or user_id != user_id.strip():
        raise AdminError("user id must not be empty or have surrounding spaces")
    given = dict(profile)
    if "userId" in given and given.pop("userId") != user_id:
        raise AdminError("the profile's userId differs from --user-id")
    unknown = sorted(set(given) - set(USER_FIELDS))
    if unknown:
        raise AdminError(f"unknown profile field {', '.join(unknown)} (known: {', '.join(USER_FIELDS)})")
    given = {key: value for key, value in given.items() if value is not None}
    for field in (_STATUS, *PROFILE_FIELDS):
        if field.name in given and not field.accepts(given[field.name]):
            raise AdminError(f"{field.name} must be {field.rule}")
    return {USER_FIELDS[key]: value for key, value in given.items()}


def put_user(user_id: str, profile: dict[str, Any]) -> dict[str, Any]:
    item = UserItem(user_id, **profile_attributes(user_id, profile))
    item.save()  # a put: the stored profile becomes exactly the file's
    return user_view(item)


def user_view(item: UserItem) -> dict[str, Any]:
    view: dict[str, Any] = {"userId": item.user_id}
    for key, attribute in USER_FIELDS.items():
        value = getattr(item, attribute)
        if hasattr(value, "as_dict"):
            value = value.as_dict()
        if value is not None:
            view[key] = value
    return view


def get_user(user_id: str) -> dict[str, Any]:
    try:
        return user_view(UserItem.get(user_id, consistent_read=True))
    except DoesNotExist:
        raise AdminError(f"unknown user {user_id}") from None


# -- key pairs -------------------------------------------------------------------------------------------


def new_private_key(bits: int = MIN_KEY_BITS) -> rsa.RSAPrivateKey:
    """A fresh RSA key of `bits` (a multiple of 8, at least MIN_KEY_BITS), for a merchant or the wallet."""
    if bits < MIN_KEY_BITS or bits % 8:
        raise AdminError(f"key size must be a multiple of 8, at least {MIN_KEY_BITS} bits")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 PEM, unencrypted: only ever written 0600 or into a secret."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    """SubjectPublicKeyInfo PEM of the key's public half, as merchants and the wallet publish it."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def generate_key_pair(out: str | Path, name: str = "key", bits: int = 2048) -> tuple[Path, Path]:
    """Write NAME_private.pem (PKCS#8, 0600) and NAME_public.pem (SubjectPublicKeyInfo); never overwrite."""
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", name):
        raise AdminError(f"key name {name!r} must be letters, digits, '.', '_' or '-'")
    key = new_private_key(bits)
    directory = Path(out)
    private_path, public_path = directory / f"{name}_private.pem", directory / f"{name}_public.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise AdminError(f"{path} already exists")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AdminError(f"{directory}: {error.strerror or error}") from None
    _write_new(private_path, private_pem(key).encode(), 0o600, exact=True)
    try:
        _write_new(public_path, public_pem(key).encode(), 0o644)
    except AdminError:
        private_path.unlink(missing_ok=True)
        raise
    return private_path, public_path


def replace_private_file(path: Path, content: bytes) -> None:
    """Write `content` readable by the owner only (0600), replacing any earlier file at `path` atomically:
    a reader sees the old file or the new one, and the new one is 0600 from the moment it exists."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.")
    except OSError as error:
        raise AdminError(f"{path}: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_new(path: Path, content: bytes, mode: int, exact: bool = False) -> None:
    try:
        # O_EXCL: never follow or replace an existing file; the mode applies from creation on.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise AdminError(f"{path} already exists") from None
    except OSError as error:
        raise AdminError(f"{path}: {error.strerror or error}") from None
    with os.fdopen(descriptor, "wb") as handle:
        if exact:
            os.fchmod(handle.fileno(), mode)  # exactly this mode, whatever the umask
        handle.write(content)
