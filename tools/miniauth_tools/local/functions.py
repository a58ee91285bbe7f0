"""Loads each template function's handler in process, the way the Lambda runtime would."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from miniauth_tools.local.template import FunctionSpec

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LambdaContext:
    """The attributes Powertools reads from the real context object."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def load_handler(spec: FunctionSpec) -> Handler:
    """Import `<CodeUri>/<module>.py` under a unique module name (every function has an app.py)."""
    module_file, _, attribute = spec.handler.rpartition(".")
    path = spec.code_uri / f"{module_file.replace('.', '/')}.py"
    name = f"miniauth_function_{spec.logical_id}"
    module = sys.modules.get(name)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        loader_spec.loader.exec_module(module)
    return getattr(module, attribute)
