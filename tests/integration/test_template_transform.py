"""template.yaml after SAM's transform, as CloudFormation would deploy it (offline; see sam_transform.py).

What SAM generates is checked here, not what the template says: the wallet routes' integrations, the stages,
the function roles and their table actions (measured from the code on moto), X-Ray, logs, the API resource
policy, throttling and alarms.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.handlers import BUILTIN_HANDLERS

from miniauth import runtime
from miniauth.config import settings
from miniauth.protocol.security import GUARD_STORE_CALLS
from miniauth.storage.dynamodb import warm_up_requests
from miniauth.storage.items import ITEMS
from miniauth_tools.local.functions import load_handler

from sam_transform import of_type, transformed
from support import APP_ID, SECOND_APP_ID, TEMPLATE, USER_ID, Answer, Api, FakeClock, tables_in_order
from test_template import OPEN_API_ROUTES, WALLET_ROUTES

WALLET_ROLE = "arn:aws:iam::123456789012:role/wallet-backend"
OTHER_ROLE = "arn:aws:iam::123456789012:role/anyone-else"


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    """The transform with every parameter at its default."""
    return transformed()


def _function_routes(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (api,) = of_type(template, "AWS::ApiGateway::RestApi").values()
    return {path: operations["post"] for path, operations in api["Properties"]["Body"]["paths"].items()}


def _only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = of_type(template, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.items()))


# -- routes and stages -----------------------------------------------------------------------------------


def test_wallet_routes_are_aws_iam_and_invoke_without_the_callers_credentials(deployed: dict[str, Any]) -> None:
    """SAM's default for AWS_IAM routes is `credentials: arn:aws:iam::*:user/*`: API Gateway would call the
    Lambda as the wallet backend, which would then need lambda:InvokeFunction itself."""
    routes = _function_routes(deployed)
    assert set(routes) == OPEN_API_ROUTES | WALLET_ROUTES
    for path in sorted(WALLET_ROUTES):
        assert routes[path].get("security") == [{"AWS_IAM": []}], path
        integration = routes[path]["x-amazon-apigateway-integration"]
        assert "credentials" not in integration, f"{path} invokes with {integration['credentials']}"
    for path in sorted(OPEN_API_ROUTES):
        assert not routes[path].get("security"), f"{path} must stay open: the merchant signs every request"
        assert "credentials" not in routes[path]["x-amazon-apigateway-integration"], path
    # Without caller credentials API Gateway needs the functions' resource permissions, one per route.
    permissions = of_type(deployed, "AWS::Lambda::Permission")
    assert len(permissions) == len(OPEN_API_ROUTES | WALLET_ROUTES)
    assert all(p["Properties"]["Principal"] == "apigateway.amazonaws.com" for p in permissions.values())


def test_exactly_one_stage_and_it_is_regional(deployed: dict[str, Any]) -> None:
    """Swagger 2.0 makes SAM's deployment also create a stage named "Stage", unthrottled and untraced."""
    _, stage = _only(deployed, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["StageName"] == {"Ref": "StageName"}
    extra = {name: d["Properties"]["StageName"] for name, d in of_type(deployed, "AWS::ApiGateway::Deployment").items()
             if "StageName" in d["Properties"]}
    assert not extra, f"deployments that create a stage of their own: {extra}"
    _, api = _only(deployed, "AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


# -- each role's table actions: exactly what its function's code issues -------------------------------------

# IAM has no action for a transaction: each item needs the action of its kind.
_TRANSACT_WRITE = {
    "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
}
Grant = tuple[str, str]  # (IAM action, table logical id or "<table>/index/<index>")


def iam_actions(operation: str, params: dict[str, Any]) -> set[Grant]:
    """The IAM actions and table resources one DynamoDB request needs."""
    if operation == "TransactWriteItems":
        needs = set()
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            needs.add((f"dynamodb:{_TRANSACT_WRITE[kind]}", body["TableName"]))
        return needs
    if operation == "TransactGetItems":
        return {("dynamodb:GetItem", item["Get"]["TableName"]) for item in params["TransactItems"]}
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return {(f"dynamodb:{operation}", table) for table in params["RequestItems"]}
    resource = params["TableName"]
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    return {(f"dynamodb:{operation}", resource)}


class TableActions:
    """Records, per function, the IAM actions its DynamoDB requests need (a botocore hook on every new client)."""

    def __init__(self) -> None:
        self.function: str | None = None
        self.used: dict[str, set[Grant]] = defaultdict(set)
        self.requests: dict[str, set[tuple[str, tuple[str, ...]]]] = defaultdict(set)  # (operation, its tables)

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        assert self.function is not None, f"a DynamoDB {model.name} outside any function"
        self.used[self.function] |= iam_actions(model.name, params)
        self.requests[self.function].add((model.name, tables_in_order(params)))

    @contextmanager
    def inside(self, function: str) -> Iterator[None]:
        self.function = function
        try:
            yield
        finally:
            self.function = None


class ColdApi(Api):
    """Each call on fresh clients and an empty registry cache, like a new container, attributed to its function."""

    def __init__(self, recorder: TableActions) -> None:
        super().__init__()
        self.recorder = recorder

    def raw(self, path: str, body: str | None, headers: dict[str, str] | None = None) -> Answer:
        _, _, function = self._routes[path]
        runtime.reset()
        with self.recorder.inside(function):
            return super().raw(path, body, headers)


@pytest.fixture
def recorded(registry: object, clock: FakeClock) -> Iterator[tuple[ColdApi, TableActions]]:
    recorder = TableActions()
    for spec in TEMPLATE.functions():  # Lambda init first: its warm-up's requests are answered locally, never sent
        load_handler(spec)
    hook = ("before-parameter-build.dynamodb", recorder)
    BUILTIN_HANDLERS.append(hook)
    for model in ITEMS.values():
        model._connection = None
    try:
        yield ColdApi(recorder), recorder
    finally:
        BUILTIN_HANDLERS.remove(hook)
        for model in ITEMS.values():
            model._connection = None
        runtime.reset()


def _expect(answer: Answer, code: str) -> Answer:
    assert answer.code == code, answer.body
    return answer


def exercise_every_path(api: ColdApi, clock: FakeClock) -> None:
    """Every storage path of every function: issue, consent, retries, replays, refusals, withdrawal.

    The clock moves a second before each retry, so no two signed requests are byte-identical (as the SDK
    re-signs a retry): replay protection must not turn a retry path into a refusal here.
    """

    def step() -> None:
        clock.advance(1)

    wallet = "/wallet/getAuthCode"
    # getAuthCode: silent scope; consent required; consent given; the stored consent reused.
    silent = _expect(api.call(wallet, {"userId": USER_ID, "appId": APP_ID, "scopes": ["auth_base"]}), "SUCCESS")
    _expect(api.call(wallet, {"userId": USER_ID, "appId": APP_ID, "scopes": ["auth_user"]}), "USER_CONSENT_REQUIRED")
    consented = api.auth_code(["auth_user"])
    again = _expect(api.call(wallet, {"userId": USER_ID, "appId": APP_ID, "scopes": ["auth_user"]}), "SUCCESS")
    # getOpenUserInfo: without a consent, giving it, then the stored one.
    open_info = "/wallet/getOpenUserInfo"
    api.call(open_info, {"userId": USER_ID, "appId": SECOND_APP_ID})  # answered with the no-consent code
    _expect(api.call(open_info, {"userId": USER_ID, "appId": SECOND_APP_ID, "consented": True}), "SUCCESS")
    _expect(api.call(open_info, {"userId": USER_ID, "appId": SECOND_APP_ID}), "SUCCESS")

    # applyToken: redemption, a retry inside the window, a replay after it; an unknown code.
    _expect(api.apply_code(consented), "SUCCESS")
    step()
    _expect(api.apply_code(consented), "SUCCESS")
    clock.advance(api_retry_window() + 1)
    _expect(api.apply_code(consented), "USED_AUTHCODE")
    _expect(api.apply_code("no-such-code"), "INVALID_AUTHCODE")
    # Refresh: rotation, the rotated token again inside the window, then after it.
    pair = _expect(api.apply_code(silent.body["authCode"]), "SUCCESS").body
    step()
    _expect(api.refresh(pair["refreshToken"]), "SUCCESS")
    step()
    rotated = _expect(api.refresh(pair["refreshToken"]), "SUCCESS").body
    clock.advance(api_retry_window() + 1)
    _expect(api.refresh(pair["refreshToken"]), "USED_REFRESH_TOKEN")
    _expect(api.inquiry(rotated["accessToken"]), "INVALID_ACCESS_TOKEN")
    # inquiryUserInfo and revoke on a live pair.
    live = _expect(api.apply_code(again.body["authCode"]), "SUCCESS").body
    step()
    _expect(api.inquiry(live["accessToken"]), "SUCCESS")
    step()
    _expect(api.revoke(live["accessToken"]), "SUCCESS")

    # The user's list, then withdrawing an authorization with live, revoked and unredeemed grants.
    step()
    api.auth_code(["auth_user"])  # one code left unredeemed
    _expect(api.apply_code(api.auth_code(["auth_user"])), "SUCCESS")
    step()
    _expect(api.call("/wallet/authorizations/list", {"userId": USER_ID}), "SUCCESS")
    _expect(api.call("/wallet/authorizations/revoke", {"userId": USER_ID, "appId": APP_ID}), "SUCCESS")
    _expect(api.call("/wallet/authorizations/list", {"userId": USER_ID}), "SUCCESS")
    api.auth_code(["auth_user"])  # a code after the withdrawal: its transaction also clears the withdrawal


def api_retry_window() -> int:
    from miniauth.config import settings

    return settings().retry_grace


def granted_table_actions(template: dict[str, Any]) -> dict[str, set[Grant]]:
    """Per function (logical id), the DynamoDB actions its generated role allows, as (action, table[/index/x])."""
    grants: dict[str, set[Grant]] = {}
    for name, function in of_type(template, "AWS::Lambda::Function").items():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        role = template["Resources"][role_id]["Properties"]
        found: set[Grant] = set()
        for policy in role.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if not any(a.startswith("dynamodb:") for a in actions):
                    continue
                assert statement["Effect"] == "Allow" and "Condition" not in statement, (name, statement)
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                found |= {(action, _table_resource(name, r)) for action in actions for r in resources}
        grants[name] = found
    return grants


def _table_resource(function: str, resource: Any) -> str:
    if isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"] and resource["Fn::GetAtt"][1] == "Arn":
        return resource["Fn::GetAtt"][0]
    if isinstance(resource, dict) and list(resource) == ["Fn::Sub"] and isinstance(resource["Fn::Sub"], str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}(/index/\w+)", resource["Fn::Sub"])
        if match:
            return match.group(1) + match.group(2)
    raise AssertionError(f"{function}: a DynamoDB resource this test cannot read: {resource!r} "
                         "(write it as !GetAtt Table.Arn or !Sub \"${Table.Arn}/index/Name\")")


def _listed(grants: set[Grant]) -> str:
    by_resource: dict[str, list[str]] = defaultdict(list)
    for action, resource in sorted(grants):
        by_resource[resource].append(action)
    return "; ".join(f"{', '.join(actions)} on {resource}" for resource, actions in sorted(by_resource.items()))


def test_each_role_grants_exactly_the_table_actions_its_function_issues(
    recorded: tuple[ColdApi, TableActions], clock: FakeClock, deployed: dict[str, Any]
) -> None:
    """Measured, not declared: the handlers run every storage path on moto while a botocore hook records each
    request's IAM needs (a transaction needs its items' actions), then each generated role is compared."""
    api, recorder = recorded
    exercise_every_path(api, clock)
    granted = granted_table_actions(deployed)
    assert set(recorder.used) == set(granted), "functions the scenario did not reach: " + str(
        sorted(set(granted) - set(recorder.used)))
    problems = []
    for function in sorted(granted):
        missing = recorder.used[function] - granted[function]
        extra = granted[function] - recorder.used[function]
        if missing:
            problems.append(f"{function}: add to its Policies in template.yaml (the code issues it, the role "
                            f"does not allow it, AccessDenied on AWS): {_listed(missing)}")
        if extra:
            problems.append(f"{function}: remove from its Policies in template.yaml (allowed, never issued by any "
                            f"path of exercise_every_path; if a path does need it, add that path there): "
                            f"{_listed(extra)}")
    assert not problems, "\n".join(problems)


def test_each_function_warms_exactly_the_requests_it_makes(recorded: tuple[ColdApi, TableActions],
                                                           clock: FakeClock) -> None:
    """Each app.py names the store methods its handlers call (STORE_CALLS; an Open API function adds the
    signature check's), and Lambda init warms their requests. Measured on every storage path: a request
    the declaration misses would pay botocore's first-time work in a first call, an extra one init time."""
    api, recorder = recorded
    exercise_every_path(api, clock)
    tables = settings().tables
    problems = []
    for spec in TEMPLATE.functions():
        module = sys.modules[f"miniauth_function_{spec.logical_id}"]  # loaded by the calls above
        declared = (*module.STORE_CALLS, *(GUARD_STORE_CALLS if not spec.routes[0].iam else ()))
        warmed = {(operation, tuple(getattr(tables, name) for name in names))
                  for operation, names in warm_up_requests(declared)}
        made = recorder.requests[spec.logical_id]
        if made != warmed:
            problems.append(f"{spec.logical_id}: made but not warmed {sorted(made - warmed)}; "
                            f"warmed but never made {sorted(warmed - made)}")
    assert not problems, "\n".join(problems)


def test_the_recorder_maps_requests_to_iam_actions() -> None:
    """The mapping the policy check rests on, including transaction items and index queries."""
    assert iam_actions("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "A"}}, {"Update": {"TableName": "B"}},
        {"ConditionCheck": {"TableName": "C"}}, {"Delete": {"TableName": "A"}},
    ]}) == {("dynamodb:PutItem", "A"), ("dynamodb:UpdateItem", "B"), ("dynamodb:ConditionCheckItem", "C"),
            ("dynamodb:DeleteItem", "A")}
    assert iam_actions("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "A"}}]}) == {
        ("dynamodb:GetItem", "A")}
    assert iam_actions("Query", {"TableName": "G", "IndexName": "I"}) == {("dynamodb:Query", "G/index/I")}
    assert iam_actions("GetItem", {"TableName": "A", "Key": {}}) == {("dynamodb:GetItem", "A")}


# -- X-Ray, logs, concurrency, architecture ---------------------------------------------------------------

XRAY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"


def _roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: template["Resources"][f["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
            for name, f in of_type(template, "AWS::Lambda::Function").items()}


def test_the_xray_policy_only_when_tracing_is_on(deployed: dict[str, Any]) -> None:
    for name, role in _roles(deployed).items():
        assert XRAY not in role.get("ManagedPolicyArns", []), f"{name} may write to X-Ray with tracing off"
    assert not any("TracingConfig" in f["Properties"] for f in of_type(deployed, "AWS::Lambda::Function").values())

    traced = transformed(TracingMode="Active")
    for name, role in _roles(traced).items():
        assert XRAY in role["ManagedPolicyArns"], name
    for function in of_type(traced, "AWS::Lambda::Function").values():
        assert function["Properties"]["TracingConfig"] == {"Mode": {"Ref": "TracingMode"}}
        assert function["Properties"]["Environment"]["Variables"]["MINIAUTH_TRACING"] == {
            "Fn::If": ["TracingOn", "true", "false"]}
    _, stage = _only(traced, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["TracingEnabled"] == {"Fn::If": ["TracingOn", True, False]}
    assert deployed["Conditions"]["TracingOn"] == {"Fn::Equals": [{"Ref": "TracingMode"}, "Active"]}


def _retained(template: dict[str, Any], reference: dict[str, Any]) -> None:
    name = reference["Fn::GetAtt"][0] if "Fn::GetAtt" in reference else reference["Ref"]
    group = template["Resources"][name]
    assert group["Type"] == "AWS::Logs::LogGroup", name
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_access_logs_execution_metrics_and_log_retention(deployed: dict[str, Any]) -> None:
    _, stage = _only(deployed, "AWS::ApiGateway::Stage")
    access = stage["Properties"]["AccessLogSetting"]
    _retained(deployed, access["DestinationArn"])
    fields = json.loads(access["Format"])  # one JSON object per request
    assert {"requestId", "caller", "resourcePath", "status", "integrationLatency"} <= set(fields)
    assert fields["requestId"] == "$context.requestId"
    (settings,) = stage["Properties"]["MethodSettings"]
    assert settings["MetricsEnabled"] is True
    assert settings.get("DataTraceEnabled") is not True, "data trace would log bodies: codes and tokens"

    functions = of_type(deployed, "AWS::Lambda::Function")
    groups = {name: f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for name, f in functions.items()}
    assert len(set(groups.values())) == len(functions), f"one log group per function: {groups}"
    for group in groups.values():
        _retained(deployed, {"Ref": group})
    assert deployed["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_reserved_concurrency_and_architecture_are_parameters(deployed: dict[str, Any]) -> None:
    for function in of_type(deployed, "AWS::Lambda::Function").values():
        props = function["Properties"]
        assert props["ReservedConcurrentExecutions"] == {
            "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
        assert props["Architectures"] == [{"Ref": "Architecture"}]
    assert deployed["Conditions"]["HasReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, 0]}]}
    _, layer = _only(deployed, "AWS::Lambda::LayerVersion")
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    assert deployed["Parameters"]["Architecture"]["Default"] == "arm64"


# -- who may call what -------------------------------------------------------------------------------------


def _resolve(value: Any, conditions: dict[str, bool]) -> Any:
    """Fn::If and AWS::NoValue as CloudFormation resolves them, for the given condition values."""
    if isinstance(value, dict):
        if list(value) == ["Fn::If"]:
            name, when_true, when_false = value["Fn::If"]
            return _resolve(when_true if conditions[name] else when_false, conditions)
        resolved = {k: _resolve(v, conditions) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v != {"Ref": "AWS::NoValue"}}
    if isinstance(value, list):
        return [v for v in (_resolve(v, conditions) for v in value) if v != {"Ref": "AWS::NoValue"}]
    return value


def _matches(statement: dict[str, Any], principal: str | None, path: str) -> bool:
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    if not any(fnmatch.fnmatchcase(f"execute-api:/api/POST{path}", pattern) for pattern in resources):
        return False
    who = statement["Principal"]
    if who != "*" and who != {"AWS": principal}:
        return False
    for operator, tests in statement.get("Condition", {}).items():
        assert operator == "ArnNotEquals" and list(tests) == ["aws:PrincipalArn"], statement
        if principal == tests["aws:PrincipalArn"]:
            return False
    return True


def invoke_allowed(policy: dict[str, Any], principal: str | None, path: str, iam_allows: bool) -> bool:
    """API Gateway's decision for a caller in the API's own account: an explicit deny wins; else an allow from
    the resource policy or (for an IAM-authenticated caller) from the caller's own IAM policy suffices."""
    statements = [s for s in policy["Statement"] if _matches(s, principal, path)]
    if any(s["Effect"] == "Deny" for s in statements):
        return False
    return any(s["Effect"] == "Allow" for s in statements) or (principal is not None and iam_allows)


def _policy(template: dict[str, Any], role_given: bool) -> dict[str, Any]:
    _, api = _only(template, "AWS::ApiGateway::RestApi")
    return _resolve(api["Properties"]["Body"]["x-amazon-apigateway-policy"], {"HasWalletBackendRole": role_given})


def test_the_resource_policy_keeps_the_wallet_routes_to_the_wallet_backend_role() -> None:
    template = transformed(WalletBackendRoleArn=WALLET_ROLE)
    policy = _policy(template, role_given=True)
    for path in sorted(WALLET_ROUTES):
        assert invoke_allowed(policy, WALLET_ROLE, path, iam_allows=False), path
        assert not invoke_allowed(policy, OTHER_ROLE, path, iam_allows=True), f"{path}: any principal with Invoke"
        assert not invoke_allowed(policy, "arn:aws:iam::999999999999:role/x", path, iam_allows=True), path
    for path in sorted(OPEN_API_ROUTES):
        assert invoke_allowed(policy, None, path, iam_allows=False), f"{path} must stay open to merchants"


def test_without_a_wallet_backend_role_the_wallet_routes_are_closed(deployed: dict[str, Any]) -> None:
    assert deployed["Parameters"]["WalletBackendRoleArn"]["Default"] == ""
    policy = _policy(deployed, role_given=False)
    for path in sorted(WALLET_ROUTES):
        assert not invoke_allowed(policy, OTHER_ROLE, path, iam_allows=True), path
    for path in sorted(OPEN_API_ROUTES):
        assert invoke_allowed(policy, None, path, iam_allows=False), path


# -- throttling and alarms ---------------------------------------------------------------------------------


def _contract_refusal(body: str) -> None:
    assert json.loads(body) == {"result": {"resultCode": "REQUEST_TRAFFIC_EXCEED_LIMIT", "resultStatus": "U",
                                           "resultMessage": "Too many requests, retry later."}}


def test_throttling_answers_429_in_the_contracts_words(deployed: dict[str, Any]) -> None:
    _, stage = _only(deployed, "AWS::ApiGateway::Stage")
    (settings,) = stage["Properties"]["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    _, api = _only(deployed, "AWS::ApiGateway::RestApi")
    throttled = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]["THROTTLED"]
    assert throttled["statusCode"] == "429"
    _contract_refusal(throttled["responseTemplates"]["application/json"])

    # Per merchant: a WAF rate rule keyed on the Client-Id header, only when ClientRateLimit is set.
    stage_id, _ = _only(deployed, "AWS::ApiGateway::Stage")
    acl_id, acl = _only(deployed, "AWS::WAFv2::WebACL")
    assert acl["Condition"] == "ClientRateLimitOn" and acl["Properties"]["Scope"] == "REGIONAL"
    assert deployed["Conditions"]["ClientRateLimitOn"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ClientRateLimit"}, 0]}]}
    (rule,) = acl["Properties"]["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["Limit"] == {"Ref": "ClientRateLimit"} and rate["AggregateKeyType"] == "CUSTOM_KEYS"
    assert [key["Header"]["Name"].lower() for key in rate["CustomKeys"]] == ["client-id"]
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    _contract_refusal(acl["Properties"]["CustomResponseBodies"][block["CustomResponseBodyKey"]]["Content"])
    _, association = _only(deployed, "AWS::WAFv2::WebACLAssociation")
    assert association["Condition"] == "ClientRateLimitOn"
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert f"/stages/${{{stage_id}}}" in association["Properties"]["ResourceArn"]["Fn::Sub"]


def test_alarms_on_5xx_refusals_and_replays(deployed: dict[str, Any]) -> None:
    alarms = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]): a["Properties"]
              for a in of_type(deployed, "AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {("AWS/ApiGateway", "5XXError"), ("miniauth", "Refusals"), ("miniauth", "ReplaysDetected")}
    _, api = _only(deployed, "AWS::ApiGateway::RestApi")
    server_errors = {d["Name"]: d["Value"] for d in alarms[("AWS/ApiGateway", "5XXError")]["Dimensions"]}
    assert server_errors == {"ApiName": api["Properties"]["Name"], "Stage": {"Ref": "StageName"}}
    assert alarms[("miniauth", "Refusals")]["Threshold"] == {"Ref": "RefusalsAlarmThreshold"}
    topic = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == topic
        assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("parameters", [
    {"TracingMode": "Active", "Architecture": "x86_64", "ReservedConcurrency": "5", "ClientRateLimit": "600",
     "WalletBackendRoleArn": WALLET_ROLE, "ManageApiGatewayLogRole": "false", "AlarmTopicArn": "arn:aws:sns:x"},
])
def test_every_parameter_transforms(parameters: dict[str, str]) -> None:
    assert len(of_type(transformed(**parameters), "AWS::Lambda::Function")) == 7

