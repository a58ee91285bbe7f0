"""The `miniauth` admin command line, end to end against the moto tables built from template.yaml."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from miniauth import signing
from miniauth.config import Settings
from miniauth.storage.dynamodb import DynamoDBStore
from miniauth.storage.items import AppItem, ClientItem, UserItem
from miniauth.userinfo import build_user_info
from miniauth_tools import admin

from cli_runs import Run, assert_error
from support import TEMPLATE

CLIENT = "2022000000000100"
APP = "2021000000000100"
USER = "2088000000000100"

PROFILE: dict[str, Any] = {
    "nickName": "Ana",
    "userName": {"fullName": "Ana Maria Lopez", "firstName": "Ana Maria", "lastName": "Lopez"},
    "avatar": "https://example.com/avatars/ana.png",
    "gender": "FEMALE",
    "birthDate": "1990-05-17",
    "nationality": "MX",
    "loginIdInfos": [{"loginIdType": "MOBILE_PHONE", "loginId": "13812345678"}],
    "contactInfos": [{"contactType": "EMAIL", "contactNo": "ana.lopez@example.com"}],
    "addresses": [{"region": "MX", "city": "Ciudad de Mexico", "zipCode": "04510"}],
    "status": "ACTIVE",
}


# -- keys and files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    private: rsa.RSAPrivateKey
    public_pem: bytes


def _rsa() -> Keys:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Keys(private, public)


@pytest.fixture(scope="module")
def first_key() -> Keys:
    return _rsa()


@pytest.fixture(scope="module")
def second_key() -> Keys:
    return _rsa()


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


@pytest.fixture
def key_file(tmp_path: Path, first_key: Keys) -> str:
    return write(tmp_path, "first.pem", first_key.public_pem)


@pytest.fixture
def second_key_file(tmp_path: Path, second_key: Keys) -> str:
    return write(tmp_path, "second.pem", second_key.public_pem)


def raw_item(dynamodb: Any, table: str, key: str, value: str) -> dict[str, Any] | None:
    return dynamodb.get_item(TableName=table, Key={key: {"S": value}}, ConsistentRead=True).get("Item")


def raw_client(dynamodb: Any, client_id: str = CLIENT) -> dict[str, Any] | None:
    return raw_item(dynamodb, "ClientsTable", "authClientId", client_id)


def store() -> DynamoDBStore:
    """A store reading what the functions would read, with no registry cache."""
    return DynamoDBStore(Settings(tables=Settings.from_env().tables, registry_cache_seconds=0))


@pytest.fixture
def client(cli: Callable[..., Run], dynamodb: Any, key_file: str) -> str:
    run = cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co", "--scope", "auth_user",
              "--public-key", key_file, "--key-version", "1")
    assert run.code == 0, run
    return CLIENT


# -- clients add -----------------------------------------------------------------------------------------


def test_clients_add_writes_the_item_the_functions_read(cli: Callable[..., Run], dynamodb: Any,
                                                        key_file: str, first_key: Keys) -> None:
    run = cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co", "--scope", "USER_NICKNAME",
              "--scope", "auth_user", "--public-key", key_file, "--key-version", "1")

    assert run.code == 0 and run.err == ""
    assert run.out == f"added client {CLIENT}\n"
    item = raw_client(dynamodb)
    assert item["name"] == {"S": "Coffee Co"}
    assert item["status"] == {"S": "ACTIVE"}
    assert item["allowedScopes"] == {"L": [{"S": "USER_NICKNAME"}, {"S": "auth_user"}]}
    assert item["grantTypes"] == {"L": [{"S": "AUTHORIZATION_CODE"}, {"S": "REFRESH_TOKEN"}]}
    assert set(item["publicKeys"]["M"]) == {"1"}
    seen = store().client(CLIENT)
    assert seen.active and seen.allowed_scopes == {"USER_NICKNAME", "auth_user"}
    signing.load_public_key(seen.public_keys["1"])
    assert seen.public_keys["1"].encode().strip() == first_key.public_pem.strip()


def test_clients_add_with_one_grant_type_and_no_key(cli: Callable[..., Run], dynamodb: Any) -> None:
    run = cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co", "--grant-type", "AUTHORIZATION_CODE")

    assert run.code == 0, run
    seen = store().client(CLIENT)
    assert seen.grant_types == {"AUTHORIZATION_CODE"}
    assert seen.allowed_scopes == frozenset() and seen.public_keys == {}


def test_clients_add_refuses_a_duplicate_unless_replace(cli: Callable[..., Run], client: str, dynamodb: Any) -> None:
    before = raw_client(dynamodb)

    assert_error(cli("clients", "add", "--client-id", client, "--name", "Impostor"), "already exists", "--replace")
    assert raw_client(dynamodb) == before

    run = cli("clients", "add", "--client-id", client, "--name", "Renamed", "--replace")
    assert run.code == 0 and run.out == f"replaced client {client}\n"
    assert raw_client(dynamodb)["name"] == {"S": "Renamed"}


def test_clients_add_refuses_an_unknown_scope(cli: Callable[..., Run], dynamodb: Any) -> None:
    run = cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co", "--scope", "auth_user",
              "--scope", "USER_SHOE_SIZE")

    assert_error(run, "unknown scope USER_SHOE_SIZE")
    assert raw_client(dynamodb) is None


@pytest.mark.parametrize("argv", [
    ["--grant-type", "PASSWORD"],
    ["--key-version", "1"],  # without --public-key
    ["--key-version", "one", "--public-key", "x.pem"],
    ["--key-version", "0", "--public-key", "x.pem"],
])
def test_clients_add_usage_errors_exit_2(cli: Callable[..., Run], dynamodb: Any, argv: list[str]) -> None:
    assert_error(cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co", *argv), code=2)
    assert raw_client(dynamodb) is None


def test_usage_errors_are_one_line_with_exit_2(cli: Callable[..., Run]) -> None:
    assert_error(cli(), "required", code=2)
    assert_error(cli("clients"), "required", code=2)
    assert_error(cli("clients", "frobnicate"), "invalid choice", code=2)
    assert_error(cli("clients", "add"), "--client-id", code=2)


def _ec_public_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(("content", "expected"), [
    ("not a key at all\n", "not a PEM public key"),
    ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a PEM public key"),
    (b"\xff\xfe\x00binary", "not UTF-8"),
    (_ec_public_pem(), "not an RSA public key"),
])
def test_a_bad_public_key_file_is_refused(cli: Callable[..., Run], dynamodb: Any, tmp_path: Path,
                                          content: str | bytes, expected: str) -> None:
    path = write(tmp_path, "bad.pem", content)

    assert_error(cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co", "--public-key", path,
                     "--key-version", "1"), path, expected)
    assert raw_client(dynamodb) is None


def test_a_private_key_is_refused_without_echoing_it(cli: Callable[..., Run], dynamodb: Any, tmp_path: Path,
                                                     first_key: Keys) -> None:
    pem = first_key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = write(tmp_path, "oops.pem", pem)

    run = cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co", "--public-key", path,
              "--key-version", "1")

    assert_error(run, "private key")
    assert "BEGIN" not in run.err and pem.decode().splitlines()[1] not in run.err
    assert raw_client(dynamodb) is None


def test_a_missing_public_key_file_is_one_line(cli: Callable[..., Run], dynamodb: Any, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.pem")
    assert_error(cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co", "--public-key", missing,
                     "--key-version", "1"), missing, "no such file")


# -- keys of at least 2048 bits ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_public_pem() -> bytes:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_clients_add_refuses_a_1024_bit_key(cli: Callable[..., Run], dynamodb: Any, tmp_path: Path,
                                            short_public_pem: bytes) -> None:
    path = write(tmp_path, "short.pem", short_public_pem)
    assert_error(cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co", "--public-key", path,
                     "--key-version", "1"), path, "1024 bits", "at least 2048")
    assert raw_client(dynamodb) is None


def test_clients_add_key_refuses_a_1024_bit_key(cli: Callable[..., Run], client: str, dynamodb: Any,
                                                tmp_path: Path, short_public_pem: bytes) -> None:
    before = raw_client(dynamodb)
    path = write(tmp_path, "short.pem", short_public_pem)
    assert_error(cli("clients", "add-key", client, "--key-version", "2", "--public-key", path), "at least 2048")
    assert raw_client(dynamodb) == before
    with pytest.raises(admin.AdminError, match="at least 2048"):  # the module itself, not just the CLI
        admin.add_key(client, "2", short_public_pem.decode())
    assert raw_client(dynamodb) == before


@pytest.mark.parametrize("inline", [False, True], ids=["key-file", "inline-pem"])
def test_a_data_file_with_a_1024_bit_key_is_refused(dynamodb: Any, tmp_path: Path, short_public_pem: bytes,
                                                    inline: bool) -> None:
    from miniauth_tools.local.seeding import load_data

    write(tmp_path, "short.pem", short_public_pem)
    key = short_public_pem.decode() if inline else "short.pem"
    data = {"clients": [{"authClientId": CLIENT, "name": "Coffee Co", "publicKeys": {"1": key}}]}
    path = Path(write(tmp_path, "data.json", json.dumps(data)))
    with pytest.raises(admin.AdminError, match="at least 2048"):
        load_data(path)
    assert raw_client(dynamodb) is None


def test_client_ids_are_what_a_client_id_header_can_carry(cli: Callable[..., Run], dynamodb: Any) -> None:
    """The Open API refuses any other Client-Id before looking it up, so none is registered."""
    for bad in ("2022 0100", "caf\u00e9", "7" * 129):
        assert_error(cli("clients", "add", "--client-id", bad, "--name", "Coffee Co"), "printable ASCII")
    assert cli("clients", "add", "--client-id", "7" * 128, "--name", "Coffee Co").code == 0


# -- clients list, suspend, activate ---------------------------------------------------------------------


def test_clients_list_text_and_json(cli: Callable[..., Run], client: str, second_key_file: str) -> None:
    assert cli("clients", "add", "--client-id", "2022000000000050", "--name", "Bare Shop").code == 0
    assert cli("clients", "add-key", client, "--key-version", "2", "--public-key", second_key_file).code == 0

    text = cli("clients", "list")
    assert text.code == 0 and text.err == ""
    assert text.out.splitlines() == [
        "2022000000000050\tACTIVE\tBare Shop\tscopes=-\tkeys=-",
        f"{client}\tACTIVE\tCoffee Co\tscopes=auth_user\tkeys=1,2",
    ]

    listed = cli("clients", "list", "--json").json()
    assert listed == [
        {"authClientId": "2022000000000050", "name": "Bare Shop", "status": "ACTIVE", "allowedScopes": [],
         "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"], "keyVersions": []},
        {"authClientId": client, "name": "Coffee Co", "status": "ACTIVE", "allowedScopes": ["auth_user"],
         "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"], "keyVersions": ["1", "2"]},
    ]


def test_clients_list_of_an_empty_table(cli: Callable[..., Run], dynamodb: Any) -> None:
    assert cli("clients", "list").out == ""
    assert cli("clients", "list", "--json").json() == []


def test_suspend_and_activate(cli: Callable[..., Run], client: str, dynamodb: Any) -> None:
    run = cli("clients", "suspend", client)
    assert run.code == 0 and run.out == f"client {client} is SUSPENDED\n"
    assert raw_client(dynamodb)["status"] == {"S": "SUSPENDED"}
    assert not store().client(client).active

    run = cli("clients", "activate", client)
    assert run.code == 0 and run.out == f"client {client} is ACTIVE\n"
    assert store().client(client).active
    assert raw_client(dynamodb)["name"] == {"S": "Coffee Co"}  # nothing else touched


@pytest.mark.parametrize("command", ["suspend", "activate"])
def test_suspend_or_activate_an_unknown_client(cli: Callable[..., Run], dynamodb: Any, command: str) -> None:
    assert_error(cli("clients", command, "2022999999999999"), "unknown client 2022999999999999")
    assert raw_client(dynamodb, "2022999999999999") is None  # an update must not create it


# -- keys of a client ------------------------------------------------------------------------------------


def test_key_rotation(cli: Callable[..., Run], client: str, dynamodb: Any, second_key_file: str,
                      second_key: Keys) -> None:
    run = cli("clients", "add-key", client, "--key-version", "2", "--public-key", second_key_file)
    assert run.code == 0 and run.out == f"client {client} keys: 1,2\n"
    assert set(raw_client(dynamodb)["publicKeys"]["M"]) == {"1", "2"}

    run = cli("clients", "remove-key", client, "--key-version", "1")

    assert run.code == 0 and run.out == f"client {client} keys: 2\n"
    keys = raw_client(dynamodb)["publicKeys"]["M"]
    assert set(keys) == {"2"}
    assert keys["2"]["S"].encode().strip() == second_key.public_pem.strip()
    # What request verification will use: a version-2 signature verifies, version 1 is gone.
    seen = store().client(client)
    content = signing.signed_content("/v2/authorizations/applyToken", client, "2026-11-22T10:00:00+08:00", "{}")
    signature = signing.sign(second_key.private, content)
    assert signing.verify(signing.load_public_key(seen.public_keys["2"]), content, signature)
    assert "1" not in seen.public_keys


def test_add_key_accepts_a_pkcs1_public_key(cli: Callable[..., Run], client: str, dynamodb: Any,
                                            tmp_path: Path, second_key: Keys) -> None:
    pkcs1 = second_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    assert pkcs1.startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    path = write(tmp_path, "pkcs1.pem", pkcs1)

    assert cli("clients", "add-key", client, "--key-version", "2", "--public-key", path).code == 0
    assert raw_client(dynamodb)["publicKeys"]["M"]["2"]["S"].startswith("-----BEGIN RSA PUBLIC KEY-----")


def test_add_key_refuses_to_overwrite_a_version(cli: Callable[..., Run], client: str, dynamodb: Any,
                                                second_key_file: str) -> None:
    before = raw_client(dynamodb)
    assert_error(cli("clients", "add-key", client, "--key-version", "1", "--public-key", second_key_file),
                 "already has key version 1")
    assert raw_client(dynamodb) == before


def test_add_key_errors(cli: Callable[..., Run], client: str, dynamodb: Any, tmp_path: Path,
                        second_key_file: str) -> None:
    before = raw_client(dynamodb)
    assert_error(cli("clients", "add-key", "2022999999999999", "--key-version", "2", "--public-key",
                     second_key_file), "unknown client 2022999999999999")
    bad = write(tmp_path, "bad.pem", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    assert_error(cli("clients", "add-key", client, "--key-version", "2", "--public-key", bad), "not a PEM")
    assert_error(cli("clients", "add-key", client, "--key-version", "x", "--public-key", second_key_file), code=2)
    assert raw_client(dynamodb) == before


def test_add_key_to_a_client_item_without_the_keys_attribute(cli: Callable[..., Run], dynamodb: Any,
                                                             key_file: str) -> None:
    dynamodb.put_item(TableName="ClientsTable", Item={"authClientId": {"S": CLIENT}, "name": {"S": "Old"}})

    assert cli("clients", "add-key", CLIENT, "--key-version", "1", "--public-key", key_file).code == 0
    assert set(raw_client(dynamodb)["publicKeys"]["M"]) == {"1"}


def test_remove_an_unknown_key_version(cli: Callable[..., Run], client: str, dynamodb: Any) -> None:
    assert_error(cli("clients", "remove-key", client, "--key-version", "7"), "no key version 7", "has: 1")
    assert_error(cli("clients", "remove-key", "2022999999999999", "--key-version", "1"), "unknown client")
    assert set(raw_client(dynamodb)["publicKeys"]["M"]) == {"1"}


def test_removing_the_last_key_needs_force(cli: Callable[..., Run], client: str, dynamodb: Any) -> None:
    assert_error(cli("clients", "remove-key", client, "--key-version", "1"), "last key", "--force")
    assert set(raw_client(dynamodb)["publicKeys"]["M"]) == {"1"}

    run = cli("clients", "remove-key", client, "--key-version", "1", "--force")
    assert run.code == 0 and run.out == f"client {client} keys: -\n"
    assert raw_client(dynamodb)["publicKeys"] == {"M": {}}


# -- apps ------------------------------------------------------------------------------------------------


def test_apps_add_and_list(cli: Callable[..., Run], client: str, dynamodb: Any) -> None:
    assert cli("clients", "add", "--client-id", "2022000000000050", "--name", "Other").code == 0
    run = cli("apps", "add", "--app-id", APP, "--client-id", client, "--name", "Coffee",
              "--logo", "https://example.com/coffee.png")
    assert run.code == 0 and run.out == f"added app {APP} of client {client}\n"
    assert cli("apps", "add", "--app-id", "2021000000000050", "--client-id", "2022000000000050",
               "--name", "Other Shop").code == 0

    item = raw_item(dynamodb, "AppsTable", "appId", APP)
    assert item == {"appId": {"S": APP}, "authClientId": {"S": client}, "name": {"S": "Coffee"},
                    "logo": {"S": "https://example.com/coffee.png"}}
    app = store().app(APP)
    assert (app.client_id, app.name, app.logo) == (client, "Coffee", "https://example.com/coffee.png")

    assert cli("apps", "list").out.splitlines() == [
        "2021000000000050\t2022000000000050\tOther Shop\t-",
        f"{APP}\t{client}\tCoffee\thttps://example.com/coffee.png",
    ]
    assert cli("apps", "list", "--client-id", client, "--json").json() == [
        {"appId": APP, "authClientId": client, "name": "Coffee", "logo": "https://example.com/coffee.png"},
    ]
    assert cli("apps", "list", "--json").json()[0] == {
        "appId": "2021000000000050", "authClientId": "2022000000000050", "name": "Other Shop"
    }
    assert cli("apps", "list", "--client-id", "2022999999999999", "--json").json() == []


def test_an_app_needs_an_existing_client(cli: Callable[..., Run], dynamodb: Any) -> None:
    assert_error(cli("apps", "add", "--app-id", APP, "--client-id", "2022999999999999", "--name", "Orphan"),
                 "unknown client 2022999999999999")
    assert raw_item(dynamodb, "AppsTable", "appId", APP) is None


def test_an_app_id_is_at_most_32_characters(cli: Callable[..., Run], client: str, dynamodb: Any) -> None:
    assert_error(cli("apps", "add", "--app-id", "A" * 33, "--client-id", client, "--name", "Long"),
                 "app id", "32")
    assert raw_item(dynamodb, "AppsTable", "appId", "A" * 33) is None

    assert cli("apps", "add", "--app-id", "A" * 32, "--client-id", client, "--name", "Just fits").code == 0


def test_apps_add_refuses_a_duplicate_unless_replace(cli: Callable[..., Run], client: str, dynamodb: Any) -> None:
    assert cli("apps", "add", "--app-id", APP, "--client-id", client, "--name", "Coffee").code == 0
    assert_error(cli("apps", "add", "--app-id", APP, "--client-id", client, "--name", "Tea"), "already exists")
    assert raw_item(dynamodb, "AppsTable", "appId", APP)["name"] == {"S": "Coffee"}

    assert cli("apps", "add", "--app-id", APP, "--client-id", client, "--name", "Tea", "--replace").code == 0
    assert raw_item(dynamodb, "AppsTable", "appId", APP)["name"] == {"S": "Tea"}


def test_an_app_logo_must_be_a_url(cli: Callable[..., Run], client: str) -> None:
    assert_error(cli("apps", "add", "--app-id", APP, "--client-id", client, "--name", "Coffee",
                     "--logo", "javascript:alert(1)"), "logo")


# -- users -----------------------------------------------------------------------------------------------


def test_users_put_and_get(cli: Callable[..., Run], dynamodb: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "profile.json", json.dumps(PROFILE))

    run = cli("users", "put", "--user-id", USER, "--file", path)

    assert run.code == 0 and run.out == f"put user {USER}\n"
    item = raw_item(dynamodb, "UsersTable", "userId", USER)
    assert set(item) == {"userId", *PROFILE}  # stored under the contract's names
    assert item["birthDate"] == {"S": "1990-05-17"}
    assert cli("users", "get", USER).json() == {"userId": USER, **PROFILE}
    # The functions read it back: inquiryUserInfo's builder sees every field.
    user = store().user(USER)
    info = build_user_info(user, ["auth_user", "PLAINTEXT_USER_LOGIN_ID", "USER_ADDRESS"])
    assert info["userName"] == PROFILE["userName"] and info["gender"] == "FEMALE"
    assert info["loginIdInfos"] == PROFILE["loginIdInfos"] and info["addresses"] == PROFILE["addresses"]


def test_users_put_replaces_the_whole_profile(cli: Callable[..., Run], dynamodb: Any, tmp_path: Path) -> None:
    assert cli("users", "put", "--user-id", USER, "--file", write(tmp_path, "a.json", json.dumps(PROFILE))).code == 0
    small = {"userId": USER, "nickName": "Ana"}
    assert cli("users", "put", "--user-id", USER, "--file", write(tmp_path, "b.json", json.dumps(small))).code == 0

    assert cli("users", "get", USER).json() == {"userId": USER, "status": "ACTIVE", "nickName": "Ana"}


@pytest.mark.parametrize(("content", "expected"), [
    ('{"nickName": "Ana",', "invalid JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({**PROFILE, "gender": "m"}), "gender"),
    (json.dumps({**PROFILE, "birthDate": "17/05/1990"}), "birthDate"),
    (json.dumps({**PROFILE, "birthDate": "1990-02-30"}), "birthDate"),
    (json.dumps({**PROFILE, "shoeSize": 42}), "unknown profile field shoeSize"),
    (json.dumps({**PROFILE, "nick_name": "Ana"}), "unknown profile field nick_name"),
    (json.dumps({**PROFILE, "userName": "Ana Lopez"}), "userName"),
    (json.dumps({**PROFILE, "addresses": "Av. Universidad"}), "addresses"),
    (json.dumps({**PROFILE, "nickName": 7}), "nickName"),
    (json.dumps({**PROFILE, "userId": "2088000000000999"}), "userId"),
])
def test_users_put_refuses_a_bad_profile(cli: Callable[..., Run], dynamodb: Any, tmp_path: Path,
                                         content: str, expected: str) -> None:
    path = write(tmp_path, "profile.json", content)

    assert_error(cli("users", "put", "--user-id", USER, "--file", path), expected)
    assert raw_item(dynamodb, "UsersTable", "userId", USER) is None


def test_users_get_of_an_unknown_user(cli: Callable[..., Run], dynamodb: Any) -> None:
    assert_error(cli("users", "get", "2088999999999999"), "unknown user 2088999999999999")


def test_users_put_of_a_missing_file(cli: Callable[..., Run], dynamodb: Any, tmp_path: Path) -> None:
    assert_error(cli("users", "put", "--user-id", USER, "--file", str(tmp_path / "none.json")), "no such file")


# -- keys generate ---------------------------------------------------------------------------------------


def test_keys_generate_writes_a_working_pair(cli: Callable[..., Run], tmp_path: Path) -> None:
    out = tmp_path / "keys"

    run = cli("keys", "generate", "--out", str(out), "--name", "coffee")

    private_path, public_path = out / "coffee_private.pem", out / "coffee_public.pem"
    assert run.code == 0 and run.err == ""
    assert run.out.splitlines() == [str(private_path), str(public_path)]
    assert "BEGIN" not in run.out
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert private_path.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert public_path.read_text().startswith("-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    private_key = signing.load_private_key(private_path.read_bytes())
    public_key = signing.load_public_key(public_path.read_bytes())
    assert private_key.key_size == 2048
    content = signing.signed_content("/v2/users/inquiryUserInfo", CLIENT, "1763776800000", '{"a":1}')
    signature = signing.sign(private_key, content)
    assert signing.verify(public_key, content, signature)
    assert not signing.verify(public_key, content + b" ", signature)


def test_keys_generate_needs_no_tables_and_registers(cli: Callable[..., Run], dynamodb: Any, tmp_path: Path) -> None:
    assert cli("--clients-table", "NoSuchTable", "keys", "generate", "--out", str(tmp_path), "--bits", "3072").code == 0
    assert signing.load_private_key((tmp_path / "key_private.pem").read_bytes()).key_size == 3072

    run = cli("clients", "add", "--client-id", CLIENT, "--name", "Coffee Co",
              "--public-key", str(tmp_path / "key_public.pem"), "--key-version", "1")
    assert run.code == 0, run


def test_keys_generate_never_overwrites(cli: Callable[..., Run], tmp_path: Path) -> None:
    private_path = tmp_path / "key_private.pem"
    private_path.write_text("precious")

    assert_error(cli("keys", "generate", "--out", str(tmp_path)), "already exists")
    assert private_path.read_text() == "precious"
    assert not (tmp_path / "key_public.pem").exists()


@pytest.mark.parametrize("argv", [["--bits", "1024"], ["--name", "../escape"]])
def test_keys_generate_refuses_bad_options(cli: Callable[..., Run], tmp_path: Path, argv: list[str]) -> None:
    assert_error(cli("keys", "generate", "--out", str(tmp_path / "k"), *argv))
    assert not (tmp_path / "k").exists()


# -- where the tables are --------------------------------------------------------------------------------


def test_a_missing_table_is_one_line(cli: Callable[..., Run], dynamodb: Any) -> None:
    assert_error(cli("--clients-table", "NoSuchTable", "clients", "list"), "table NoSuchTable not found")


def test_table_options_env_and_local_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APPS_TABLE", raising=False)
    monkeypatch.setenv("CLIENTS_TABLE", "EnvClients")
    monkeypatch.setenv("USERS_TABLE", "EnvUsers")

    tables = admin.tables_from_options({"clients": None, "apps": None, "users": "OptionUsers"})

    assert tables == admin.RegistryTables(clients="EnvClients", apps="AppsTable", users="OptionUsers")


def test_the_env_var_names_the_table(cli: Callable[..., Run], dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENTS_TABLE", "EnvClients")
    assert_error(cli("clients", "list"), "table EnvClients not found")
    assert cli("--clients-table", "ClientsTable", "clients", "list").code == 0


def test_the_region_option_reaches_dynamodb(cli: Callable[..., Run], client: str) -> None:
    # moto keeps regions apart: the tables exist in us-east-1 only.
    assert_error(cli("--region", "eu-west-1", "clients", "list"), "table ClientsTable not found")
    assert cli("--region", "us-east-1", "clients", "list").code == 0


def test_the_endpoint_option_reaches_dynamodb(cli: Callable[..., Run], dynamodb: Any) -> None:
    with socket.socket() as probe:  # a local port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"

    assert_error(cli("--endpoint-url", endpoint, "clients", "list"), endpoint)


def test_the_models_are_left_as_found(cli: Callable[..., Run], dynamodb: Any) -> None:
    before = [(m.Meta.table_name, m.Meta.host, m.Meta.region) for m in (ClientItem, AppItem, UserItem)]

    cli("--clients-table", "A", "--apps-table", "B", "--users-table", "C", "--region", "eu-west-1",
        "--endpoint-url", "http://127.0.0.1:9", "clients", "list")

    assert [(m.Meta.table_name, m.Meta.host, m.Meta.region) for m in (ClientItem, AppItem, UserItem)] == before


# -- --stack-name ----------------------------------------------------------------------------------------

STACK_OUTPUTS = {
    "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/api",
    **{f"{name}TableName": f"prod-{name}Table-1A2B3C" for name in
       ("AuthCodes", "Tokens", "Grants", "Consents", "Clients", "Apps", "Users", "RequestReplays")},
}


@pytest.fixture
def stack(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A deployed stack `prod`: its tables in moto, its CloudFormation answers from a botocore Stubber."""
    for definition in TEMPLATE.table_definitions().values():
        create = dict(definition["create"])
        create["TableName"] = STACK_OUTPUTS[f"{create['TableName'].removesuffix('Table')}TableName"]
        dynamodb.create_table(**create)
    calls: dict[str, Any] = {"regions": []}
    real_client = boto3.client

    def fake_client(service: str, *args: Any, **kwargs: Any) -> Any:
        made = real_client(service, *args, **kwargs)
        if service != "cloudformation":
            return made
        calls["regions"].append(kwargs.get("region_name"))
        stubber = Stubber(made)
        if calls.get("missing"):
            stubber.add_client_error("describe_stacks", service_error_code="ValidationError",
                                     service_message="Stack with id prod does not exist", http_status_code=400,
                                     expected_params={"StackName": "prod"})
        else:
            stubber.add_response("describe_stacks", {"Stacks": [{
                "StackName": "prod", "CreationTime": "2026-11-22T00:00:00Z", "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in calls.get("outputs", STACK_OUTPUTS).items()],
            }]}, {"StackName": "prod"})
        stubber.activate()
        return made

    monkeypatch.setattr(boto3, "client", fake_client)
    return calls


def test_stack_name_reads_the_tables_from_the_outputs(cli: Callable[..., Run], stack: dict[str, Any],
                                                      dynamodb: Any, key_file: str) -> None:
    run = cli("--stack-name", "prod", "--region", "us-east-1", "clients", "add", "--client-id", CLIENT,
              "--name", "Coffee Co", "--public-key", key_file, "--key-version", "1")
    assert run.code == 0, run
    assert cli("--stack-name", "prod", "apps", "add", "--app-id", APP, "--client-id", CLIENT,
               "--name", "Coffee").code == 0

    assert stack["regions"] == ["us-east-1", None]
    assert raw_item(dynamodb, STACK_OUTPUTS["ClientsTableName"], "authClientId", CLIENT)["name"] == {"S": "Coffee Co"}
    assert raw_item(dynamodb, STACK_OUTPUTS["AppsTableName"], "appId", APP)["name"] == {"S": "Coffee"}
    assert raw_client(dynamodb) is None  # the local tables are untouched


def test_stack_outputs_map_to_the_tables() -> None:
    tables = admin.tables_from_outputs("prod", STACK_OUTPUTS)
    assert tables == admin.RegistryTables(clients="prod-ClientsTable-1A2B3C", apps="prod-AppsTable-1A2B3C",
                                          users="prod-UsersTable-1A2B3C")


def test_a_stack_without_the_outputs(cli: Callable[..., Run], stack: dict[str, Any]) -> None:
    stack["outputs"] = {"ApiUrl": STACK_OUTPUTS["ApiUrl"], "ClientsTableName": "prod-Clients"}
    assert_error(cli("--stack-name", "prod", "clients", "list"), "no output AppsTableName, UsersTableName")


def test_an_unknown_stack(cli: Callable[..., Run], stack: dict[str, Any]) -> None:
    stack["missing"] = True
    assert_error(cli("--stack-name", "prod", "clients", "list"), "ValidationError", "does not exist")


def test_stack_name_excludes_table_options(cli: Callable[..., Run], dynamodb: Any) -> None:
    assert_error(cli("--stack-name", "prod", "--clients-table", "X", "clients", "list"), "exclude", code=2)


# -- the installed command -------------------------------------------------------------------------------


def test_the_console_script_runs() -> None:
    script = Path(sys.executable).parent / "miniauth"
    assert script.exists(), "pip install -e ./tools (make venv) installs the miniauth console script"

    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: miniauth")
    for group in ("clients", "apps", "users", "keys"):
        assert group in done.stdout
