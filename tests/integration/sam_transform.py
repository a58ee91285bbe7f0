"""template.yaml as AWS will deploy it: SAM's own translator (aws-sam-translator), run offline.

CloudFormation runs the `AWS::Serverless-2016-10-31` transform with the stack's parameter values; this does the
same in process. It needs a region (pseudo parameters) but no credentials and no network: code locations are
rewritten to S3 URIs as `sam package` would, and AWS managed policies resolve from the translator's bundled list.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from samtranslator.public.parser import Parser
from samtranslator.public.translator import Translator
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
REGION = "us-east-1"


def _no_managed_policy_lookups() -> dict[str, str]:
    """The translator asks IAM only for a managed policy missing from its bundled list; none of ours is."""
    return {}


@cache
def _parsed(text: str) -> dict[str, Any]:
    return yaml_parse(text)


def transformed(template_text: str | None = None, **parameters: str) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of `template_text` (default: template.yaml)."""
    document = copy.deepcopy(_parsed(template_text if template_text is not None else TEMPLATE_PATH.read_text()))
    for resource in document.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://packaged-artifacts/{properties[key].strip('/')}.zip"
    values = {"AWS::Region": REGION, "AWS::Partition": "aws", "AWS::AccountId": "123456789012", **parameters}
    # A session with only a region: the translator reads pseudo parameters from it and never calls AWS.
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    return translator.translate(document, values, get_managed_policy_map=_no_managed_policy_lookups)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in template["Resources"].items() if resource["Type"] == kind}
