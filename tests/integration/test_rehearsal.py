"""Deploy rehearsal (scripts/rehearse.py): the SAM-transformed template.yaml created in moto's CloudFormation."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from support import ROOT, TEMPLATE

spec = importlib.util.spec_from_file_location("rehearse", ROOT / "scripts" / "rehearse.py")
assert spec and spec.loader
rehearse = importlib.util.module_from_spec(spec)
sys.modules["rehearse"] = rehearse
spec.loader.exec_module(rehearse)

# What moto's CloudFormation does not implement: it warns and creates nothing for these (README, Deployment).
NOT_REHEARSED = {
    "AWS::SecretsManager::Secret", "AWS::ApiGateway::Stage", "AWS::ApiGateway::Account",
    "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::UsagePlanKey", "AWS::ApiGateway::ApiKey",
    "AWS::CloudWatch::Alarm", "AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation",
}


@pytest.fixture(scope="module")
def rehearsed() -> Iterator[dict[str, Any]]:
    with mock_aws(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
        yield rehearse.rehearse(boto3.session.Session())


def test_the_transformed_stack_reaches_create_complete(rehearsed: dict[str, Any]) -> None:
    assert rehearsed["stack"]["StackStatus"] == "CREATE_COMPLETE", rehearsed["stack"].get("StackStatusReason")
    assert not any(kind.startswith("AWS::Serverless::") for kind in
                   (r["Type"] for r in rehearsed["template"]["Resources"].values()))
    created = {r["ResourceType"] for r in rehearsed["resources"].values()}
    assert {"AWS::DynamoDB::Table", "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Lambda::LayerVersion",
            "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Deployment", "AWS::Lambda::Permission"} <= created


def test_only_known_emulator_gaps_are_skipped(rehearsed: dict[str, Any]) -> None:
    skipped = rehearsed["skipped"]
    assert set(skipped.values()) <= NOT_REHEARSED, skipped
    assert skipped["WalletKeySecret"] == "AWS::SecretsManager::Secret"
    made = set(rehearsed["resources"])
    assert set(rehearsed["template"]["Resources"]) - made == set(skipped)


def test_the_tables_are_the_templates(rehearsed: dict[str, Any]) -> None:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in rehearsed["stack"]["Outputs"]}
    dynamodb = boto3.client("dynamodb")
    for logical, table_definition in TEMPLATE.table_definitions().items():
        definition = table_definition["create"]
        name = outputs[f"{logical}Name"]
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == definition["KeySchema"], logical
        assert table.get("BillingModeSummary", {}).get("BillingMode", "PAY_PER_REQUEST") == "PAY_PER_REQUEST"
        indexes = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
        assert indexes == {i["IndexName"] for i in definition.get("GlobalSecondaryIndexes", [])}, logical


def test_every_function_exists_with_its_role_layer_and_tables(rehearsed: dict[str, Any]) -> None:
    resources = rehearsed["resources"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in rehearsed["stack"]["Outputs"]}
    lambda_ = boto3.client("lambda")
    iam = boto3.client("iam")
    functions = TEMPLATE.of_type("AWS::Serverless::Function")
    for logical in functions:
        name = resources[logical]["PhysicalResourceId"]
        configuration = lambda_.get_function(FunctionName=name)["Configuration"]
        assert configuration["Runtime"] == "python3.13" and configuration["Handler"] == "app.handler"
        role = resources[f"{logical}Role"]["PhysicalResourceId"]
        assert configuration["Role"] == iam.get_role(RoleName=role)["Role"]["Arn"]
        # moto's CloudFormation does not pass Layers or Architectures on to the function: check what it was given
        properties = rehearsed["template"]["Resources"][logical]["Properties"]
        (layer,) = properties["Layers"]
        assert rehearsed["resources"][layer["Ref"]]["ResourceType"] == "AWS::Lambda::LayerVersion", logical
        environment = configuration["Environment"]["Variables"]
        for variable, output in (("AUTH_CODES_TABLE", "AuthCodesTableName"), ("TOKENS_TABLE", "TokensTableName"),
                                 ("GRANTS_TABLE", "GrantsTableName"), ("CONSENTS_TABLE", "ConsentsTableName")):
            assert environment[variable] == outputs[output], (logical, variable)


def test_the_api_has_every_route_of_the_template(rehearsed: dict[str, Any]) -> None:
    apigateway = boto3.client("apigateway")
    api = rehearsed["resources"]["MiniauthApi"]["PhysicalResourceId"]
    methods = {}
    for resource in apigateway.get_resources(restApiId=api, embed=["methods"])["items"]:
        for verb in resource.get("resourceMethods", {}):
            methods[(resource["path"], verb)] = apigateway.get_method(restApiId=api, resourceId=resource["id"],
                                                                      httpMethod=verb)
    routes = {(route.path, route.method.upper()): route for spec in TEMPLATE.functions() for route in spec.routes}
    assert set(methods) == set(routes)
    for key, method in methods.items():
        assert method["authorizationType"] == ("AWS_IAM" if routes[key].iam else "NONE"), key
        assert method["methodIntegration"]["type"] == "AWS_PROXY"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in rehearsed["stack"]["Outputs"]}
    assert outputs["ApiUrl"].startswith(f"https://{api}.execute-api.")


def test_a_template_that_cannot_be_created_is_caught(tmp_path: Path) -> None:
    """The point of the rehearsal: a reference to a resource that does not exist (here a typo in a table's
    name) passes the SAM transform but fails CreateStack, before anyone deploys."""
    text = (ROOT / "template.yaml").read_text()
    assert "AUTH_CODES_TABLE: !Ref AuthCodesTable" in text
    broken = tmp_path / "template.yaml"  # the code folders become dummy S3 objects: nothing is read from them
    broken.write_text(text.replace("AUTH_CODES_TABLE: !Ref AuthCodesTable", "AUTH_CODES_TABLE: !Ref AuthCodeTable"))
    with mock_aws(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto")
        with pytest.raises(ClientError) as refused:
            rehearse.rehearse(boto3.session.Session(), broken, stack="broken-rehearsal")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
