"""Deploy rehearsal: create the stack AWS would create from template.yaml, in a local CloudFormation emulator.

1. package: every function's CodeUri and the layer's ContentUri become S3 objects (dummy zips in a
   bucket of the emulator), as `sam package` would make them;
2. transform: the SAM transform, offline, with SAM's own translator (aws-sam-translator);
3. create: `CreateStack` with the transformed template on moto's CloudFormation (in process under
   `mock_aws`, or a `moto_server` at AWS_ENDPOINT_URL), then wait for CREATE_COMPLETE.

Resource types moto's CloudFormation does not implement are not created: moto logs a warning and
skips them (their Ref resolves to the logical id). `skipped()` names them, so a run says exactly
what it did not rehearse.

    moto_server -p 5000 &                                  # or any CloudFormation emulator
    AWS_ENDPOINT_URL=http://127.0.0.1:5000 .venv/bin/python scripts/rehearse.py
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STACK = "miniauth-rehearsal"
CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class OfflinePolicies:
    """The translator's managed-policy lookup (IAM ListPolicies) without IAM: AWS-managed names map to their ARN."""

    class _Arns(dict[str, str]):
        def __contains__(self, name: object) -> bool:
            return isinstance(name, str)

        def __getitem__(self, name: str) -> str:
            return f"arn:aws:iam::aws:policy/{name}"

        def get(self, name: str, default: Any = None) -> str:  # type: ignore[override]
            return self[name]

    def load(self) -> dict[str, str]:
        return self._Arns()


def read_template(path: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def package(template: dict[str, Any], s3: Any, bucket: str) -> dict[str, Any]:
    """Point every local code folder at a dummy zip uploaded to the emulator's S3, as `sam package` would."""
    s3.create_bucket(Bucket=bucket)
    for name, resource in template["Resources"].items():
        field = CODE_PROPERTIES.get(resource["Type"])
        if field and isinstance(resource["Properties"].get(field), str):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
            s3.put_object(Bucket=bucket, Key=f"{name}.zip", Body=buffer.getvalue())
            resource["Properties"][field] = f"s3://{bucket}/{name}.zip"
    return template


def transformed(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    return transform(template, dict(parameters or {}), OfflinePolicies())  # type: ignore[arg-type]


def skipped(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> type of each resource moto's CloudFormation will not create."""
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    supported = get_model_map()
    return {name: resource["Type"] for name, resource in template["Resources"].items()
            if resource["Type"] not in supported or resource["Type"] in NULL_MODELS}


def adapt_for_moto(template: dict[str, Any]) -> list[str]:
    """What moto needs and CloudFormation does not; each change is reported and creates the same API."""
    changes = []
    resources = template["Resources"]
    for name, resource in list(resources.items()):
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::ApiGateway::RestApi":
            continue
        if "Name" not in properties:
            # CloudFormation names an API imported from Body after the body's info.title; moto requires Name.
            properties["Name"] = properties.get("Body", {}).get("info", {}).get("title") or name
            changes.append(f"{name}: Name set from the OpenAPI title")
        if "Body" in properties:
            # moto's CloudFormation ignores Body, so the API would have no method and its Deployment fails:
            # the same routes as AWS::ApiGateway::Resource/Method, which it does create.
            methods = _expand_body(resources, name, properties.pop("Body"))
            for other in resources.values():
                if other["Type"] == "AWS::ApiGateway::Deployment" and other["Properties"].get("RestApiId") == {
                        "Ref": name}:
                    other["DependsOn"] = sorted({*_as_list(other.get("DependsOn")), *methods})
            changes.append(f"{name}: its OpenAPI Body became {len(methods)} AWS::ApiGateway::Method resources")
    return changes


def _as_list(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _expand_body(resources: dict[str, Any], api: str, body: dict[str, Any]) -> list[str]:
    created: dict[str, str] = {}
    methods = []
    for path, operations in body.get("paths", {}).items():
        parent: Any = {"Fn::GetAtt": [api, "RootResourceId"]}
        prefix = ""
        for part in path.strip("/").split("/"):
            prefix += "/" + part
            if prefix not in created:
                created[prefix] = f"{api}Path{len(created)}"
                resources[created[prefix]] = {"Type": "AWS::ApiGateway::Resource", "Properties": {
                    "RestApiId": {"Ref": api}, "ParentId": parent, "PathPart": part}}
            parent = {"Ref": created[prefix]}
        for verb, operation in operations.items():
            integration = operation["x-amazon-apigateway-integration"]
            iam = any("AWS_IAM" in requirement for requirement in operation.get("security", []))
            method = f"{api}Method{len(methods)}"
            target = {"Type": integration["type"].upper(), "IntegrationHttpMethod": integration["httpMethod"],
                      "Uri": integration["uri"]}
            if "credentials" in integration:
                target["Credentials"] = integration["credentials"]
            resources[method] = {"Type": "AWS::ApiGateway::Method", "Properties": {
                "RestApiId": {"Ref": api}, "ResourceId": parent, "HttpMethod": verb.upper(),
                "AuthorizationType": "AWS_IAM" if iam else "NONE", "Integration": target}}
            methods.append(method)
    return methods


def create(cloudformation: Any, template: dict[str, Any], parameters: dict[str, str] | None = None,
           stack: str = STACK, timeout: float = 300) -> dict[str, Any]:
    cloudformation.create_stack(
        StackName=stack, TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + timeout
    while True:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        if not described["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return described
        time.sleep(1)


def rehearse(session: Any, template_path: Path = ROOT / "template.yaml", parameters: dict[str, str] | None = None,
             stack: str = STACK) -> dict[str, Any]:
    """Package, transform and create; what happened, for a report or a test."""
    template = transformed(package(read_template(template_path), session.client("s3"), f"{stack}-artifacts"),
                           parameters)
    adapted = adapt_for_moto(template)
    cloudformation = session.client("cloudformation")
    described = create(cloudformation, template, parameters, stack)
    # moto lists a resource it skipped without a LogicalResourceId
    created = {r["LogicalResourceId"]: r for r in
               cloudformation.describe_stack_resources(StackName=stack)["StackResources"] if "LogicalResourceId" in r}
    return {"template": template, "stack": described, "resources": created, "skipped": skipped(template),
            "adapted": adapted}


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(description="create the SAM-transformed stack in a CloudFormation emulator")
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("--stack-name", default=STACK)
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="Name=Value")
    args = parser.parse_args(argv)
    parameters = dict(item.split("=", 1) for item in args.parameter_overrides)
    result = rehearse(boto3.session.Session(), Path(args.template), parameters, args.stack_name)
    status = result["stack"]["StackStatus"]
    print(f"{args.stack_name}: {status}, {len(result['resources'])} resources created "
          f"of {len(result['template']['Resources'])} in the transformed template")
    for change in result["adapted"]:
        print(f"  adapted for the emulator: {change}")
    for name, kind in sorted(result["skipped"].items()):
        print(f"  not rehearsed (the emulator has no {kind}): {name}")
    return 0 if status == "CREATE_COMPLETE" else 1


if __name__ == "__main__":
    sys.exit(main())
