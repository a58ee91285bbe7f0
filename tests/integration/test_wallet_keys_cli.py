"""`miniauth wallet-keys init|rotate|public`: files (0600) and the stack's WalletKeySecret (moto)."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from miniauth import signing, wallet_keys

from cli_runs import Run, assert_error
from support import private_pem


def document_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def assert_no_private_key(run: Run, *documents: dict[str, Any]) -> None:
    """Neither the PEM markers nor any line of any private key's body reaches stdout or stderr."""
    shown = run.out + run.err
    assert "PRIVATE KEY" not in shown
    for document in documents:
        for pem in document["privateKeys"].values():
            for line in pem.splitlines()[1:-1]:
                assert line not in shown


def public_of(pem: str) -> str:
    return signing.load_private_key(pem).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# -- files -----------------------------------------------------------------------------------------------


def test_init_writes_a_0600_document_the_functions_can_sign_with(cli: Callable[..., Run], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secrets" / "wallet-keys.json"
    run = cli("wallet-keys", "init", "--file", str(path))
    assert run.code == 0, run
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = document_of(path)
    assert document["currentKeyVersion"] == "1" and list(document["privateKeys"]) == ["1"]
    assert_no_private_key(run, document)
    # what the functions read (wallet_keys.py) accepts it: a 2048-bit RSA key, version 1 current
    monkeypatch.delenv(wallet_keys.SECRET_ENV, raising=False)
    monkeypatch.delenv(wallet_keys.DOCUMENT_ENV, raising=False)
    monkeypatch.setenv(wallet_keys.FILE_ENV, str(path))
    key = wallet_keys.current_wallet_key()
    assert key.key_version == "1" and key.private_key.key_size == 2048


def test_init_refuses_to_replace_a_document_unless_forced(cli: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "wallet-keys.json"
    assert cli("wallet-keys", "init", "--file", str(path)).code == 0
    before = path.read_bytes()
    assert_error(cli("wallet-keys", "init", "--file", str(path)), "already holds a value", "--force")
    assert path.read_bytes() == before
    run = cli("wallet-keys", "init", "--file", str(path), "--force", "--bits", "3072")
    assert run.code == 0, run
    replaced = document_of(path)
    assert replaced != json.loads(before)
    assert signing.load_private_key(replaced["privateKeys"]["1"]).key_size == 3072
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_two_step_rotation_then_drop(cli: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "wallet-keys.json"
    assert cli("wallet-keys", "init", "--file", str(path)).code == 0
    first = document_of(path)

    run = cli("wallet-keys", "rotate", "--file", str(path))  # step 1: a new key, not yet signing
    assert run.code == 0, run
    added = document_of(path)
    assert added["currentKeyVersion"] == "1" and sorted(added["privateKeys"]) == ["1", "2"]
    assert added["privateKeys"]["1"] == first["privateKeys"]["1"]
    assert "wallet-keys rotate --current 2" in run.out
    assert_no_private_key(run, added)

    run = cli("wallet-keys", "public", "--file", str(path))  # what merchants get, both versions
    assert run.code == 0, run
    assert "# keyVersion 1 (current)" in run.out and "# keyVersion 2\n" in run.out
    for version in ("1", "2"):
        assert public_of(added["privateKeys"][version]) in run.out
    assert_no_private_key(run, added)

    assert cli("wallet-keys", "rotate", "--file", str(path), "--current", "2").code == 0  # step 2
    switched = document_of(path)
    assert switched == {**added, "currentKeyVersion": "2"}

    assert_error(cli("wallet-keys", "rotate", "--file", str(path), "--drop", "2"), "is current")
    assert document_of(path) == switched
    assert cli("wallet-keys", "rotate", "--file", str(path), "--drop", "1").code == 0
    assert document_of(path) == {"currentKeyVersion": "2", "privateKeys": {"2": added["privateKeys"]["2"]}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    run = cli("wallet-keys", "rotate", "--file", str(path), "--make-current")  # one step, e.g. no merchants yet
    assert run.code == 0 and document_of(path)["currentKeyVersion"] == "3", run


def test_public_writes_files_and_json(cli: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "wallet-keys.json"
    cli("wallet-keys", "init", "--file", str(path))
    cli("wallet-keys", "rotate", "--file", str(path))
    document = document_of(path)
    run = cli("wallet-keys", "public", "--file", str(path), "--out", str(tmp_path / "pub"))
    assert run.code == 0, run
    for version in ("1", "2"):
        assert (tmp_path / "pub" / f"wallet_public_v{version}.pem").read_text() == \
            public_of(document["privateKeys"][version])
    run = cli("wallet-keys", "public", "--file", str(path), "--json", "--key-version", "2")
    shown = json.loads(run.out)
    assert shown == {"currentKeyVersion": "1", "keyVersions": ["1", "2"],
                     "publicKeys": {"2": public_of(document["privateKeys"]["2"])}}
    assert_no_private_key(run, document)


@pytest.mark.parametrize(("content", "fragment"), [
    ("not json", "does not hold a wallet key document"),
    ('{"currentKeyVersion": "2", "privateKeys": {"1": "x"}}', "must name one of privateKeys"),
    ('{"currentKeyVersion": "1", "privateKeys": {"1": "-----BEGIN PRIVATE KEY-----\\nAAAA\\n"}}',
     "keyVersion 1 is not an RSA private key"),
    ('{"currentKeyVersion": "1", "privateKeys": {"1": 7}}', "keyVersion 1 is not an RSA private key"),
])
def test_unusable_documents_are_refused_and_left_alone(cli: Callable[..., Run], tmp_path: Path, content: str,
                                                       fragment: str) -> None:
    path = tmp_path / "wallet-keys.json"
    path.write_text(content)
    for command in (("rotate",), ("public",)):
        assert_error(cli("wallet-keys", *command, "--file", str(path)), fragment)
    assert path.read_text() == content


def test_short_keys_are_refused(cli: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "wallet-keys.json"
    assert_error(cli("wallet-keys", "init", "--file", str(path), "--bits", "1024"), "at least 2048")
    assert not path.exists()
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path.write_text(wallet_keys.key_document({"1": private_pem(weak)}, "1"))
    assert_error(cli("wallet-keys", "public", "--file", str(path)), "1024 bits")


def test_usage_errors(cli: Callable[..., Run], tmp_path: Path) -> None:
    assert_error(cli("wallet-keys", "public"), "--file FILE, --stack-name NAME or --secret-id ARN")
    assert_error(cli("wallet-keys", "rotate", "--file", str(tmp_path / "none.json")), "no wallet key document")
    path = tmp_path / "wallet-keys.json"
    cli("wallet-keys", "init", "--file", str(path))
    assert_error(cli("wallet-keys", "rotate", "--file", str(path), "--current", "5"), "not in")
    assert_error(cli("wallet-keys", "rotate", "--file", str(path), "--make-current", "--drop", "1"),
                          "--make-current adds a key")
    assert cli("wallet-keys", "rotate", "--file", str(path), "--current", "0").code == 2


# -- the stack's secret ----------------------------------------------------------------------------------

# moto's CloudFormation does not create AWS::SecretsManager::Secret (it warns and skips it), so the stack
# here only carries the output; the secret is made as the real stack makes it: with no value.
STACK = {
    "Parameters": {"SecretArn": {"Type": "String"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {"WalletKeySecretArn": {"Value": {"Ref": "SecretArn"}}},
}


@pytest.fixture
def stack() -> Iterator[str]:
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="miniauth-wallet-keys")["ARN"]
        boto3.client("cloudformation").create_stack(
            StackName="prod", TemplateBody=json.dumps(STACK),
            Parameters=[{"ParameterKey": "SecretArn", "ParameterValue": arn}])
        yield arn


def secret_document(arn: str) -> dict[str, Any]:
    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def test_stack_secret_init_rotate_public(cli: Callable[..., Run], stack: str) -> None:
    run = cli("--stack-name", "prod", "wallet-keys", "init")
    assert run.code == 0, run
    assert f"secret {stack}" in run.out
    first = secret_document(stack)
    assert first["currentKeyVersion"] == "1"
    assert_no_private_key(run, first)

    def versions() -> list[tuple[str, list[str]]]:  # not the access dates: the refusal reads the secret
        listed = boto3.client("secretsmanager").list_secret_version_ids(SecretId=stack)["Versions"]
        return sorted((v["VersionId"], sorted(v.get("VersionStages", []))) for v in listed)

    before = versions()
    assert_error(cli("--stack-name", "prod", "wallet-keys", "init"), "already holds a value")
    assert versions() == before

    assert cli("--stack-name", "prod", "wallet-keys", "rotate").code == 0
    rotated = secret_document(stack)
    assert sorted(rotated["privateKeys"]) == ["1", "2"] and rotated["currentKeyVersion"] == "1"
    run = cli("--stack-name", "prod", "wallet-keys", "public", "--json")
    assert json.loads(run.out)["publicKeys"] == {v: public_of(pem) for v, pem in rotated["privateKeys"].items()}
    assert_no_private_key(run, rotated)
    # --secret-id reaches the same secret without the stack
    assert cli("wallet-keys", "rotate", "--secret-id", stack, "--current", "2").code == 0
    assert secret_document(stack)["currentKeyVersion"] == "2"


def test_stack_secret_holding_something_else_is_not_replaced(cli: Callable[..., Run], stack: str) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=stack, SecretString="generated-password")
    assert_error(cli("--stack-name", "prod", "wallet-keys", "init"), "already holds a value")
    assert_error(cli("--stack-name", "prod", "wallet-keys", "rotate"), "does not hold a wallet key")
    assert boto3.client("secretsmanager").get_secret_value(SecretId=stack)["SecretString"] == "generated-password"


def test_stack_errors_are_one_line(cli: Callable[..., Run], stack: str, tmp_path: Path) -> None:
    assert_error(cli("--stack-name", "missing", "wallet-keys", "init"), "ValidationError")
    assert_error(cli("--stack-name", "prod", "wallet-keys", "init", "--file", str(tmp_path / "k.json")),
                          "--stack-name names the secret already")
    assert not (tmp_path / "k.json").exists()
    assert_error(cli("wallet-keys", "public", "--secret-id", "no-such-secret"), "ResourceNotFoundException")
