"""Logger and metrics, created once per container. The X-Ray tracer loads only when enabled."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "miniauth"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "miniauth"))

AUTH_CODES_ISSUED = "AuthCodesIssued"
TOKENS_ISSUED = "TokenPairsIssued"
REPLAYS_DETECTED = "ReplaysDetected"
REFUSALS = "Refusals"


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def count_refusal(result_code: str) -> None:
    """One EMF blob per refusal, so the resultCode dimension does not leak onto other metrics.

    The blob counts it under two dimension sets, (service, resultCode) and (service) alone: CloudWatch
    does not sum across dimension values, and the template's refusals alarm watches that total. Written
    here rather than with Powertools' single_metric, which takes one dimension set per blob (two blobs
    took about 45 us, this about 7). POWERTOOLS_METRICS_DISABLED (as `miniauth serve` sets it) is honoured.
    """
    if is_metrics_disabled():
        return
    directive = {"Namespace": metrics.namespace, "Dimensions": [["service", "resultCode"], ["service"]],
                 "Metrics": [{"Name": REFUSALS, "Unit": "Count"}]}
    blob = {"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [directive]},
            "service": metrics.service or "miniauth", "resultCode": result_code, REFUSALS: [1.0]}
    print(json.dumps(blob, separators=(",", ":")))


def tracing_enabled() -> bool:
    return os.environ.get("MINIAUTH_TRACING", "false").lower() == "true"


def instrument(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Lambda handler with logging context, metrics flush and (if enabled) tracing."""
    from aws_lambda_powertools.logging import correlation_paths

    wrapped = logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)(handler)
    wrapped = metrics.log_metrics(wrapped)
    if tracing_enabled():
        from aws_lambda_powertools.tracing import Tracer  # pulls in the X-Ray SDK: only when asked

        wrapped = Tracer().capture_lambda_handler(wrapped)
    return wrapped
