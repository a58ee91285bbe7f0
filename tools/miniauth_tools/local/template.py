"""Reads the SAM template: table definitions, functions, routes and their environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{name: f"Fn::{name}" for name in ("GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select",
                                         "Split", "FindInMap", "ImportValue", "GetAZs", "Base64", "Cidr")},
}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags turned into their long form."""


def _construct(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = _SHORT_TAGS.get(tag_suffix, f"Fn::{tag_suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if key == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct)

NO_VALUE = "AWS::NoValue"  # what `Ref: AWS::NoValue` resolves to here; such a value is left out


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    iam: bool = False


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    routes: list[Route] = field(default_factory=list)
    timeout: int = 3  # seconds, as Lambda's default


class Template:
    def __init__(self, path: str | Path, parameter_overrides: dict[str, str] | None = None) -> None:
        self.path = Path(path).resolve()
        self.root = self.path.parent
        self.document: dict[str, Any] = yaml.load(self.path.read_text(), Loader=_CfnLoader)  # noqa: S506
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in self.document.get("Parameters", {}).items()
        }
        for name, value in (parameter_overrides or {}).items():
            if name not in self.parameters:
                raise KeyError(f"template has no parameter {name!r}")
            self.parameters[name] = str(value)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.document["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res.get("Type") == kind}

    # -- intrinsic functions, as far as local runs need them --------------------------------------------

    def table_name(self, logical_id: str) -> str:
        """Locally a table is named after its logical id."""
        return logical_id

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                if arg in self.parameters:
                    return self.parameters[arg]
                if arg in self.resources:
                    return self.table_name(arg)
                return arg
            if key == "Fn::If":
                condition, when_true, when_false = arg
                return self.resolve(when_true if self.condition(condition) else when_false)
            if key == "Fn::Equals":
                return str(self.resolve(arg[0])) == str(self.resolve(arg[1]))  # CloudFormation compares strings
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::And":
                return all(self._truth(a) for a in arg)
            if key == "Fn::Or":
                return any(self._truth(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAtt":
                return f"arn:aws:local:::{arg[0]}"
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def condition(self, name: str) -> bool:
        return self._truth(self.document.get("Conditions", {})[name])

    def _truth(self, value: Any) -> bool:
        resolved = self.resolve(value)
        if not isinstance(resolved, bool):
            raise ValueError(f"cannot evaluate condition {value!r} locally")
        return resolved

    # -- what local runs use ---------------------------------------------------------------------------

    def table_definitions(self) -> dict[str, dict[str, Any]]:
        """create_table arguments for every AWS::DynamoDB::Table, plus its TTL attribute (or None)."""
        tables = {}
        for logical_id, resource in self.of_type("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            definition: dict[str, Any] = {
                "TableName": self.table_name(logical_id),
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            ttl = props.get("TimeToLiveSpecification")
            tables[logical_id] = {
                "create": definition,
                "ttl_attribute": ttl["AttributeName"] if ttl and ttl.get("Enabled") else None,
            }
        return tables

    def functions(self) -> list[FunctionSpec]:
        defaults = self.document.get("Globals", {}).get("Function", {})
        default_env = defaults.get("Environment", {}).get("Variables", {})
        specs = []
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            env = {**default_env, **props.get("Environment", {}).get("Variables", {})}
            routes = [
                Route(
                    method=event["Properties"]["Method"].upper(),
                    path=event["Properties"]["Path"],
                    iam=event["Properties"].get("Auth", {}).get("Authorizer") == "AWS_IAM",
                )
                for event in props.get("Events", {}).values()
                if event.get("Type") == "Api"
            ]
            specs.append(
                FunctionSpec(
                    logical_id=logical_id,
                    code_uri=(self.root / props.get("CodeUri", defaults.get("CodeUri", "."))).resolve(),
                    handler=props.get("Handler", defaults.get("Handler", "app.handler")),
                    environment={k: str(v) for k, v in self._present(env).items()},
                    routes=routes,
                    timeout=int(self.resolve(props.get("Timeout", defaults.get("Timeout", 3)))),
                )
            )
        return specs

    def _present(self, values: dict[str, Any]) -> dict[str, Any]:
        """Resolved values, without those an !If removed with AWS::NoValue."""
        resolved = {k: self.resolve(v) for k, v in values.items()}
        return {k: v for k, v in resolved.items() if v != NO_VALUE}

    def function(self, logical_id: str) -> FunctionSpec:
        for spec in self.functions():
            if spec.logical_id == logical_id:
                return spec
        raise KeyError(logical_id)


def create_tables(client: Any, template: Template, enable_ttl: bool = True) -> list[str]:
    """Create the template's tables (skipping existing ones) with a boto3/botocore DynamoDB client.

    `enable_ttl=False` leaves TTL off: DynamoDB Local deletes an expired item within seconds, where
    AWS takes hours to days, so a local server would answer "unknown" where AWS answers "expired".
    """
    existing = set(client.list_tables().get("TableNames", []))
    created = []
    for definition in template.table_definitions().values():
        name = definition["create"]["TableName"]
        if name in existing:
            continue
        client.create_table(**definition["create"])
        if enable_ttl and definition["ttl_attribute"]:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": definition["ttl_attribute"], "Enabled": True},
            )
        created.append(name)
    return created
