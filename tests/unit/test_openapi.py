"""openapi.yaml: valid, route for route the template's API, request schemas in step with the request bodies,
and response schemas that accept what the handlers really answer (and refuse what they must not)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
import schemathesis
import yaml
from openapi_spec_validator import validate
from pydantic.json_schema import GenerateJsonSchema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from miniauth.protocol import requests as models

from support import APP_ID, CLIENT_ID, ROOT, TEMPLATE, USER_ID, Answer, Api

DOCUMENT = yaml.safe_load((ROOT / "openapi.yaml").read_text())
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
HANDLER = re.compile(r'@app\.(\w+)\("([^"]+)"\)\s*\ndef \w+\(request: (\w+)\) -> Answer:')
REGISTRY = Registry().with_resource("urn:openapi", Resource.from_contents(DOCUMENT, DRAFT202012))


def template_routes() -> set[tuple[str, str]]:
    return {(route.method, route.path) for spec in TEMPLATE.functions() for route in spec.routes}


def handler_models() -> dict[str, type]:
    """Route -> the request dataclass its handler takes as body, read from functions/*/app.py."""
    found = {}
    for source in sorted((ROOT / "functions").glob("*/app.py")):
        for _method, path, model in HANDLER.findall(source.read_text()):
            found[path] = getattr(models, model)
    return found


def deref(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` chain to the object it names."""
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_the_document_is_valid_openapi_that_schemathesis_loads() -> None:
    validate(DOCUMENT)
    operations = [result.ok() for result in schemathesis.openapi.from_dict(DOCUMENT).get_all_operations()]
    assert len(operations) == 10


def test_every_template_route_is_documented_and_nothing_else() -> None:
    documented = {(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item
                  if method in METHODS}
    assert len(template_routes()) == 10
    assert template_routes() - documented == set(), "routes of template.yaml missing from openapi.yaml"
    assert documented - template_routes() == set(), "openapi.yaml documents routes template.yaml lacks"


def test_open_api_routes_require_the_signature_headers_and_return_them() -> None:
    for route in (route for spec in TEMPLATE.functions() for route in spec.routes):
        path, operation = route.path, DOCUMENT["paths"][route.path]["post"]
        headers = {deref(p)["name"]: deref(p)["required"] for p in operation.get("parameters", [])
                   if deref(p)["in"] == "header"}
        answer = deref(operation["responses"]["200"])
        if route.iam:  # the wallet's own API: AWS_IAM in the cloud, no message signature
            assert headers == {} and "headers" not in answer, path
        else:
            assert headers == {"Client-Id": True, "Request-Time": True, "Signature": True}, path
            assert {name: deref(h)["required"] for name, h in answer["headers"].items()} == {
                "Client-Id": True, "Response-Time": True, "Signature": True}, path
        assert set(operation["responses"]) == {"200", "500"}, path


def normalised(schema: dict[str, Any]) -> dict[str, Any]:
    """One spelling for a field's constraints: pydantic's anyOf [X, null] and OpenAPI 3.1's type [X, null]."""
    types: set[str] = set()
    merged: dict[str, Any] = {}
    for branch in schema.get("anyOf", [schema]):
        branch = deref(branch)
        kind = branch.get("type")
        types.update(kind if isinstance(kind, list) else [kind])
        merged.update({k: v for k, v in branch.items() if k in ("minLength", "maxLength", "maxItems", "enum")})
        if "items" in branch:
            merged["items"] = normalised(deref(branch["items"]))
    return {"type": sorted(types), **merged}


ROUTES = sorted(handler_models())


def test_every_route_has_a_handler_model() -> None:
    assert {path for _, path in template_routes()} == set(ROUTES)


@pytest.mark.parametrize("path", ROUTES)
def test_request_schema_matches_the_request_body(path: str) -> None:
    body = DOCUMENT["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    documented = deref(body["content"]["application/json"]["schema"])
    model = handler_models()[path]
    expected = GenerateJsonSchema().generate(models.schema_of(model))  # pydantic's reading of the validator
    assert documented["type"] == "object"
    assert documented.get("additionalProperties", True) is not False, "the models ignore unknown fields"
    assert set(documented["required"]) == set(expected["required"])
    assert set(documented["properties"]) == set(expected["properties"])
    for name, field in expected["properties"].items():
        assert normalised(documented["properties"][name]) == normalised(field), f"{model.__name__}.{name}"


# -- responses: real answers of the in-process handlers against the documented schemas -------------------------

def check(path: str, answer: Answer, valid: bool = True) -> None:
    response = deref(DOCUMENT["paths"][path]["post"]["responses"][str(answer.status)])
    schema = response["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({"$ref": "urn:openapi#" + schema["$ref"][1:]}, registry=REGISTRY)
    errors = list(validator.iter_errors(answer.body))
    assert (not errors) is valid, (path, answer.body, [e.message for e in errors])
    for name in response.get("headers", {}):
        assert name in answer.headers, (path, name)


def test_the_handlers_answers_fit_the_documented_responses(api: Api) -> None:
    wallet = {"userId": USER_ID, "appId": APP_ID}
    consent = api.call("/wallet/getAuthCode", {**wallet, "scopes": ["auth_user"]})
    assert consent.code == "USER_CONSENT_REQUIRED"
    check("/wallet/getAuthCode", consent)
    check("/wallet/getAuthCode", api.call("/wallet/getAuthCode", {**wallet, "scopes": ["nope"], "consentedScopes": []}))
    granted = api.call("/wallet/getAuthCode",
                       {**wallet, "scopes": ["auth_user", "nope"], "consentedScopes": ["auth_user"]})
    assert granted.code == "SUCCESS"
    check("/wallet/getAuthCode", granted)

    v2 = {"appId": APP_ID, "authClientId": CLIENT_ID}
    code = granted.body["authCode"]
    issued = api.call("/v2/authorizations/applyToken",
                      {**v2, "grantType": "AUTHORIZATION_CODE", "authCode": code, "extendInfo": "x"})
    assert issued.code == "SUCCESS"
    check("/v2/authorizations/applyToken", issued)
    refreshed = api.call("/v1/authorizations/applyToken", {"referenceClientId": APP_ID, "grantType": "REFRESH_TOKEN",
                                                           "refreshToken": issued.body["refreshToken"]})
    assert refreshed.code == "SUCCESS"
    check("/v1/authorizations/applyToken", refreshed)
    token = {"accessToken": refreshed.body["accessToken"]}
    for path, body in [("/v2/users/inquiryUserInfo", {**v2, **token}),
                       ("/v1/customers/user/inquiryUserInfoByAccessToken", token),
                       ("/v2/authorizations/revoke", {**v2, **token}),
                       ("/v1/authorizations/cancelToken", token),
                       ("/v2/users/inquiryUserInfo", {**v2, **token}),  # now INVALID_ACCESS_TOKEN
                       ("/v1/authorizations/applyToken", {"grantType": "AUTHORIZATION_CODE"}),  # PARAM_ILLEGAL
                       ("/v2/authorizations/revoke", {}),
                       ("/wallet/getOpenUserInfo", {**wallet, "consented": False}),
                       ("/wallet/getOpenUserInfo", {**wallet, "consented": True}),
                       ("/wallet/authorizations/list", {"userId": USER_ID}),
                       ("/wallet/authorizations/revoke", wallet),
                       ("/wallet/authorizations/list", {"userId": "nobody"})]:
        check(path, api.call(path, body))


def test_the_response_schemas_refuse_an_incomplete_success(api: Api) -> None:
    issued = api.tokens()
    api_answer = Answer(200, issued, {"Client-Id": "", "Response-Time": "", "Signature": ""})
    check("/v2/authorizations/applyToken", api_answer)
    for missing in ("accessToken", "refreshTokenExpiryTime", "customerId"):
        broken = {k: v for k, v in issued.items() if k != missing}
        check("/v2/authorizations/applyToken", Answer(200, broken, api_answer.headers), valid=False)
    refused = {"result": {"resultCode": "INVALID_AUTHCODE", "resultStatus": "F", "resultMessage": "no"}}
    check("/v2/authorizations/applyToken", Answer(200, refused, api_answer.headers))
    check("/v2/authorizations/applyToken", Answer(200, {"result": {**refused["result"], "resultStatus": "X"}},
                                                  api_answer.headers), valid=False)
    check("/wallet/getAuthCode", Answer(200, {"result": {**refused["result"], "resultCode": "USER_CONSENT_REQUIRED"}},
                                        {}), valid=False)
