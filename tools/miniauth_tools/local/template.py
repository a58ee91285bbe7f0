"""Reads the SAM template: table definitions, functions, routes and their environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

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

T = TypeVar("T")

NO_VALUE = "AWS::NoValue"  # what `Ref: AWS::NoValue` resolves to here; such a value is left out
LOCAL_STACK_NAME = "miniauth-local"
LOCAL_ACCOUNT_ID = "123456789012"
SUPPORTED = ("Ref", "Condition", "Fn::If", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Fn::GetAtt", "Fn::Sub",
             "Fn::Join", "Fn::Select", "Fn::Split")
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class TemplateError(ValueError):
    """The template uses something the local reader cannot evaluate; the message says what and where."""


def _join_path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _expect(value: Any, kind: type[T], intrinsic: str, where: str) -> T:
    if not isinstance(value, kind):
        raise TemplateError(f"{intrinsic} at {where or 'the top level'} needs a {kind.__name__}, not {value!r}")
    return value


def _expect_list(value: Any, length: int, intrinsic: str, where: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != length:
        raise TemplateError(f"{intrinsic} at {where or 'the top level'} needs a list of {length}, not {value!r}")
    return value


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
        self.pseudo_parameters = {
            "AWS::StackName": LOCAL_STACK_NAME,
            "AWS::Region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.document["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res.get("Type") == kind}

    # -- intrinsic functions, as far as local runs need them --------------------------------------------

    def table_name(self, logical_id: str) -> str:
        """Locally a table is named after its logical id."""
        return logical_id

    def resolve(self, value: Any, where: str = "") -> Any:
        """`value` with every intrinsic resolved as CloudFormation would for a local stack.

        An intrinsic this reader cannot evaluate raises TemplateError naming it and `where` it appeared,
        never passes through as text. A `Ref: AWS::NoValue` inside a list or mapping removes that entry.
        """
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                return self._intrinsic(key, arg, where)
        if isinstance(value, list):
            items = (self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value))
            return [v for v in items if v != NO_VALUE]
        if isinstance(value, dict):
            resolved = {k: self.resolve(v, _join_path(where, k)) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v != NO_VALUE}
        return value

    def _intrinsic(self, key: str, arg: Any, where: str) -> Any:
        here = _join_path(where, key)
        if key == "Ref":
            return self._ref(_expect(arg, str, key, where), where)
        if key == "Condition":
            return self.condition(_expect(arg, str, key, where), where)
        if key == "Fn::If":
            condition, when_true, when_false = _expect_list(arg, 3, key, where)
            chosen = when_true if self.condition(_expect(condition, str, key, where), where) else when_false
            return self.resolve(chosen, here)
        if key == "Fn::Equals":
            left, right = _expect_list(arg, 2, key, where)
            # CloudFormation compares the strings
            return str(self.resolve(left, here)) == str(self.resolve(right, here))
        if key == "Fn::Not":
            (operand,) = _expect_list(arg, 1, key, where)
            return not self._truth(operand, here)
        if key == "Fn::And":
            return all(self._truth(a, here) for a in _expect(arg, list, key, where))
        if key == "Fn::Or":
            return any(self._truth(a, here) for a in _expect(arg, list, key, where))
        if key == "Fn::GetAtt":
            resource, attribute = _expect_list(arg, 2, key, where)
            return self._get_att(str(resource), str(attribute), where)
        if key == "Fn::Sub":
            if isinstance(arg, list):
                text, variables = _expect_list(arg, 2, key, where)
                bound = {name: self.resolve(v, here) for name, v in _expect(variables, dict, key, where).items()}
            else:
                text, bound = arg, {}
            return self._sub(_expect(self.resolve(text, here), str, key, where), bound, where)
        if key == "Fn::Join":
            delimiter, parts = _expect_list(arg, 2, key, where)
            resolved = self.resolve(parts, here)
            if not isinstance(resolved, list):
                raise TemplateError(f"Fn::Join at {where or 'the top level'} needs a list of values")
            return str(delimiter).join(str(part) for part in resolved)
        if key == "Fn::Select":
            index, items = _expect_list(arg, 2, key, where)
            resolved = self.resolve(items, here)
            position = int(self.resolve(index, here))
            if not isinstance(resolved, list) or not 0 <= position < len(resolved):
                raise TemplateError(f"Fn::Select at {where or 'the top level'}: index {position} is out of range")
            return resolved[position]
        if key == "Fn::Split":
            delimiter, text = _expect_list(arg, 2, key, where)
            return _expect(self.resolve(text, here), str, key, where).split(str(delimiter))
        raise TemplateError(
            f"{key} at {where or 'the top level'} is not supported by the local template reader "
            f"(it resolves {', '.join(SUPPORTED)})"
        )

    def _ref(self, name: str, where: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo_parameters:
            return self.pseudo_parameters[name]
        if name in self.resources:
            return self.table_name(name)
        raise TemplateError(f"Ref {name!r} at {where or 'the top level'} is neither a parameter nor a resource")

    def _get_att(self, resource: str, attribute: str, where: str) -> str:
        if resource not in self.resources:
            raise TemplateError(f"Fn::GetAtt at {where or 'the top level'} names no resource {resource!r}")
        if attribute == "Arn":
            return f"arn:aws:local:::{resource}"
        declared = self.resources[resource]
        if attribute == "Stage" and declared.get("Type") == "AWS::Serverless::Api":  # SAM's stage of an Api
            where_stage = f"Resources.{resource}.Properties.StageName"
            return str(self.resolve(declared.get("Properties", {}).get("StageName"), where_stage))
        raise TemplateError(
            f"Fn::GetAtt {resource}.{attribute} at {where or 'the top level'}: "
            "only .Arn (and an Api's .Stage) is resolved locally"
        )

    def _sub(self, text: str, variables: dict[str, Any], where: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is the text ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                resource, attribute = name.split(".", 1)
                return self._get_att(resource, attribute, where)
            return self._ref(name, where)

        return _SUB_VARIABLE.sub(replace, text)

    def condition(self, name: str, where: str = "") -> bool:
        conditions = self.document.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"condition {name!r} at {where or 'the top level'} is not in Conditions")
        return self._truth(conditions[name], f"Conditions.{name}")

    def _truth(self, value: Any, where: str = "") -> bool:
        resolved = self.resolve(value, where)
        if not isinstance(resolved, bool):
            raise TemplateError(f"condition at {where or 'the top level'} is not true or false: {value!r}")
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
                    environment={k: str(v) for k, v in self._present(env, logical_id).items()},
                    routes=routes,
                    timeout=int(self.resolve(props.get("Timeout", defaults.get("Timeout", 3)),
                                             f"Resources.{logical_id}.Properties.Timeout")),
                )
            )
        return specs

    def _present(self, values: dict[str, Any], logical_id: str) -> dict[str, Any]:
        """Resolved values, without those an !If removed with AWS::NoValue."""
        where = f"Resources.{logical_id}.Properties.Environment.Variables"
        resolved = {k: self.resolve(v, f"{where}.{k}") for k, v in values.items()}
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
