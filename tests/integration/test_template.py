"""template.yaml is the source of truth: its shape is checked here, its tables feed every other test."""

from __future__ import annotations

import json
import re

import pytest

from miniauth_tools.local.functions import load_handler

from support import EVENTS, ROOT, TEMPLATE

OPEN_API_ROUTES = {
    "/v2/authorizations/applyToken", "/v1/authorizations/applyToken",
    "/v2/users/inquiryUserInfo", "/v1/customers/user/inquiryUserInfoByAccessToken",
    "/v2/authorizations/revoke", "/v1/authorizations/cancelToken",
}
WALLET_ROUTES = {
    "/wallet/getAuthCode", "/wallet/getOpenUserInfo",
    "/wallet/authorizations/list", "/wallet/authorizations/revoke",
}


def test_every_operation_is_its_own_function_on_the_shared_layer() -> None:
    functions = TEMPLATE.of_type("AWS::Serverless::Function")
    assert set(functions) == {
        "ApplyTokenFunction", "InquiryUserInfoFunction", "RevokeFunction", "GetAuthCodeFunction",
        "GetOpenUserInfoFunction", "ListAuthorizationsFunction", "RevokeAuthorizationFunction",
    }
    globals_ = TEMPLATE.document["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    # One architecture parameter (arm64 by default, x86_64 for `sam local` on Intel) for functions and layer build.
    assert TEMPLATE.document["Parameters"]["Architecture"]["Default"] == "arm64"
    assert set(TEMPLATE.document["Parameters"]["Architecture"]["AllowedValues"]) == {"arm64", "x86_64"}
    assert globals_["Architectures"] == [{"Ref": "Architecture"}]
    assert globals_["Layers"] == [{"Ref": "MiniauthLayer"}]
    layer = TEMPLATE.resources["MiniauthLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": {"Ref": "Architecture"}}
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]


def test_the_layer_build_leaves_out_what_the_runtime_ships() -> None:
    """The python3.13 runtime has boto3 and botocore; a second botocore in the layer would shadow it."""
    makefile = (ROOT / "layers" / "miniauth" / "Makefile").read_text()
    assert "build-MiniauthLayer:" in makefile
    shipped = re.search(r"^RUNTIME_SHIPS := (.+)$", makefile, re.M)
    assert shipped and {"boto3", "botocore", "s3transfer", "urllib3"} <= set(shipped.group(1).split())
    assert "--platform $(PLATFORM)" in makefile and "--python-version $(LAYER_PYTHON_VERSION)" in makefile
    assert re.search(r"^LAYER_PYTHON_VERSION \?= 3\.13$", makefile, re.M)
    assert "manylinux2014_aarch64" in makefile and "manylinux2014_x86_64" in makefile


def test_routes_and_auth() -> None:
    routes = {route.path: route for spec in TEMPLATE.functions() for route in spec.routes}
    assert set(routes) == OPEN_API_ROUTES | WALLET_ROUTES
    assert all(routes[p].iam for p in WALLET_ROUTES)
    assert not any(routes[p].iam for p in OPEN_API_ROUTES)
    assert all(route.method == "POST" for route in routes.values())


def test_tables_expire_codes_and_tokens_and_are_retained() -> None:
    tables = TEMPLATE.of_type("AWS::DynamoDB::Table")
    for name, table in tables.items():
        props = table["Properties"]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
    for name in ("AuthCodesTable", "TokensTable", "GrantsTable"):
        assert tables[name]["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_every_lifetime_is_a_parameter_wired_into_the_functions() -> None:
    env = TEMPLATE.function("ApplyTokenFunction").environment
    for parameter, variable in {
        "AuthCodeTtlSeconds": "AUTH_CODE_TTL_SECONDS",
        "AccessTokenTtlSeconds": "ACCESS_TOKEN_TTL_SECONDS",
        "RefreshTokenTtlSeconds": "REFRESH_TOKEN_TTL_SECONDS",
        "RetryGraceSeconds": "RETRY_GRACE_SECONDS",
        "RequestTimeSkewSeconds": "REQUEST_TIME_SKEW_SECONDS",
    }.items():
        assert env[variable] == TEMPLATE.parameters[parameter]
    assert "ApiUrl" in TEMPLATE.document["Outputs"]


def test_each_function_may_only_touch_the_tables_it_uses() -> None:
    """Least privilege: no wildcard actions or resources, and Open API functions never write consents.

    They read the (user, app) consent epoch: GetItem (inquiryUserInfo) and ConditionCheckItem (applyToken).
    """
    for spec_id, resource in TEMPLATE.of_type("AWS::Serverless::Function").items():
        for policy in resource["Properties"]["Policies"]:
            for statement in policy["Statement"]:
                for action in statement["Action"]:
                    assert action.split(":")[0] in ("dynamodb", "secretsmanager") and "*" not in action, spec_id
                assert "*" not in json.dumps(statement["Resource"]), spec_id
    open_api = ("ApplyTokenFunction", "InquiryUserInfoFunction", "RevokeFunction")
    for name in open_api:
        text = json.dumps(TEMPLATE.resources[name]["Properties"]["Policies"])
        for policy in TEMPLATE.resources[name]["Properties"]["Policies"]:
            for statement in policy["Statement"]:
                if "ConsentsTable" in json.dumps(statement["Resource"]):
                    assert set(statement["Action"]) <= {"dynamodb:GetItem", "dynamodb:ConditionCheckItem"}, name
        assert "dynamodb:DeleteItem" not in text and "dynamodb:Query" not in text


def test_one_event_per_route_and_every_handler_loads() -> None:
    events = {json.loads(p.read_text())["path"] for p in EVENTS.glob("*.json")}
    assert events == OPEN_API_ROUTES | WALLET_ROUTES
    for spec in TEMPLATE.functions():
        assert callable(load_handler(spec))


def test_the_local_reader_evaluates_the_template_conditions(tmp_path) -> None:
    """`miniauth serve` reads the template: !Not/!And/!Or conditions, numbers and AWS::NoValue must work there."""
    from miniauth_tools.local.template import Template

    assert TEMPLATE.function("ApplyTokenFunction").environment["MINIAUTH_TRACING"] == "false"
    assert not TEMPLATE.condition("HasReservedConcurrency") and not TEMPLATE.condition("HasWalletBackendRole")
    tracing = Template(TEMPLATE.path, {"TracingMode": "Active", "ReservedConcurrency": "5"})
    assert tracing.function("ApplyTokenFunction").environment["MINIAUTH_TRACING"] == "true"
    assert tracing.condition("HasReservedConcurrency")

    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters:\n  A: {Type: Number, Default: 0}\n  B: {Type: String, Default: x}\n"
        "Conditions:\n  ANonZero: !Not [!Equals [!Ref A, 0]]\n"
        "  Both: !And [!Condition ANonZero, !Equals [!Ref B, x]]\n"
        "  Either: !Or [!Condition ANonZero, !Equals [!Ref B, x]]\n"
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n"
        "      Environment:\n        Variables:\n          KEPT: !If [Either, kept, dropped]\n"
        "          GONE: !If [Both, set, !Ref AWS::NoValue]\n"
    )
    env = Template(path).function("F").environment
    assert env == {"KEPT": "kept"}
    assert Template(path, {"A": "3"}).function("F").environment == {"KEPT": "kept", "GONE": "set"}


def _template(tmp_path, body: str, overrides: dict[str, str] | None = None):
    from miniauth_tools.local.template import Template

    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters:\n  Stage: {Type: String, Default: dev}\n  Names: {Type: String, Default: 'a,b,c'}\n"
        "Conditions:\n  IsProd: !Equals [!Ref Stage, prod]\n"
        "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n"
        "  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: !Ref Stage\n"
        "  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n"
        "      Environment:\n        Variables:\n" + "".join(f"          {line}\n" for line in body.splitlines())
    )
    return Template(path, overrides)


def test_the_local_reader_resolves_refs_to_parameters_pseudo_parameters_and_resources(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    env = _template(tmp_path, (
        "STAGE: !Ref Stage\nSTACK: !Ref AWS::StackName\nREGION: !Ref AWS::Region\nACCOUNT: !Ref AWS::AccountId\n"
        "TABLE: !Ref Table\nGONE: !Ref AWS::NoValue\nLONG: {Ref: Stage}"
    )).function("F").environment
    assert env == {"STAGE": "dev", "STACK": "miniauth-local", "REGION": "eu-west-1", "ACCOUNT": "123456789012",
                   "TABLE": "Table", "LONG": "dev"}


def test_the_local_reader_substitutes_sub_in_both_forms(tmp_path) -> None:
    env = _template(tmp_path, (
        'LOG: !Sub "/aws/lambda/${AWS::StackName}/${Stage}/x"\n'
        'ARN: !Sub "${Table.Arn}/index/I"\n'
        'URL: !Sub "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/${Api.Stage}"\n'
        'LITERAL: !Sub "keep ${!Stage} as text"\n'
        'TWO: !Sub ["${Who}-${Stage}", {Who: !Ref Table}]'
    ), {"Stage": "prod"}).function("F").environment
    region = _template(tmp_path, "X: x").pseudo_parameters["AWS::Region"]
    assert env == {
        "LOG": "/aws/lambda/miniauth-local/prod/x",
        "ARN": "arn:aws:local:::Table/index/I",
        "URL": f"https://Api.execute-api.{region}.amazonaws.com/prod",
        "LITERAL": "keep ${Stage} as text",
        "TWO": "Table-prod",
    }


def test_the_local_reader_joins_selects_splits_and_branches(tmp_path) -> None:
    body = (
        'JOINED: !Join ["-", [!Ref Stage, b, !GetAtt Table.Arn]]\n'
        "PICKED: !Select [1, !Split [',', !Ref Names]]\n"
        "BRANCH: !If [IsProd, live, !Sub 'test-${Stage}']"
    )
    assert _template(tmp_path, body).function("F").environment == {
        "JOINED": "dev-b-arn:aws:local:::Table", "PICKED": "b", "BRANCH": "test-dev"}
    assert _template(tmp_path, body, {"Stage": "prod"}).function("F").environment["BRANCH"] == "live"


@pytest.mark.parametrize(("body", "message"), [
    ("X: !ImportValue shared-table", "Fn::ImportValue at Resources.F.Properties.Environment.Variables.X is not"),
    ("X: !Sub '${Nowhere}'", "Ref 'Nowhere' at Resources.F.Properties.Environment.Variables.X"),
    ("X: !Ref Nowhere", "Ref 'Nowhere' at Resources.F.Properties.Environment.Variables.X"),
    ("X: !GetAtt Table.StreamArn", "Fn::GetAtt Table.StreamArn at Resources.F.Properties.Environment.Variables.X"),
    ("X: !Join ['-', [a, !Base64 b]]", "Fn::Base64 at Resources.F.Properties.Environment.Variables.X.Fn::Join[1]"),
    ("X: !If [Missing, a, b]", "condition 'Missing' at Resources.F.Properties.Environment.Variables.X"),
])
def test_the_local_reader_refuses_what_it_cannot_resolve_and_says_where(tmp_path, body, message) -> None:
    from miniauth_tools.local.template import TemplateError

    with pytest.raises(TemplateError) as refused:
        _template(tmp_path, body).function("F")
    assert message in str(refused.value)


def test_every_intrinsic_in_template_yaml_resolves_locally() -> None:
    """No resource or output of the real template is left as an unresolved "{'Fn::...': ...}" text."""
    resolved = TEMPLATE.resolve({"Resources": TEMPLATE.resources, "Outputs": TEMPLATE.document["Outputs"]})
    text = json.dumps(resolved)
    assert "Fn::" not in text and '"Ref"' not in text and "AWS::NoValue" not in text
    assert resolved["Outputs"]["ApiUrl"]["Value"].startswith("https://MiniauthApi.execute-api.")
