"""Runs a template function's real handler for one API Gateway event, as the Lambda runtime would.

ProcessInvoker keeps a pool of worker processes; each is a warm container that loads a function's
handler once and runs one invocation at a time, so module-level state (the Powertools resolver, the
logger, the per-container caches) is never shared between concurrent requests, exactly as on Lambda.
InProcessInvoker runs everything in this process, one invocation at a time (for debugging).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol

from miniauth.local.functions import LambdaContext, load_handler
from miniauth.local.template import FunctionSpec


class FunctionFailed(Exception):
    """The handler raised or returned something API Gateway cannot use (a 502 there)."""


class FunctionTimedOut(Exception):
    """The handler ran past the function's Timeout (a 504 there)."""


class Invoker(Protocol):
    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


_SPECS: dict[str, FunctionSpec] = {}


def _install(specs: dict[str, FunctionSpec]) -> None:
    _SPECS.clear()
    _SPECS.update(specs)


def _run(logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    spec = _SPECS[logical_id]
    os.environ.update(spec.environment)
    try:
        response = load_handler(spec)(event, LambdaContext(logical_id, aws_request_id=str(uuid.uuid4())))
    except Exception as error:  # the runtime reports it; API Gateway answers 502
        raise FunctionFailed("".join(traceback.format_exception_only(error)).strip()) from None
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        raise FunctionFailed(f"{logical_id} returned no statusCode")
    return response


def _warm(logical_ids: list[str]) -> int:
    for logical_id in logical_ids:
        os.environ.update(_SPECS[logical_id].environment)
        load_handler(_SPECS[logical_id])
    return os.getpid()


class ProcessInvoker:
    def __init__(self, specs: dict[str, FunctionSpec], workers: int = 4) -> None:
        self._specs = specs
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_install,
            initargs=(specs,),
        )

    def warm(self) -> int:
        """Start every worker and load every handler; returns how many distinct workers answered."""
        futures = [self._pool.submit(_warm, list(self._specs)) for _ in range(self.workers)]
        return len({future.result() for future in futures})

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        future = self._pool.submit(_run, logical_id, event)
        try:
            return future.result(timeout=self._specs[logical_id].timeout + 5)  # + queueing, as a cold start
        except FutureTimeout:
            raise FunctionTimedOut(f"{logical_id} timed out") from None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class InProcessInvoker:
    def __init__(self, specs: dict[str, FunctionSpec]) -> None:
        self._lock = threading.Lock()
        _install(specs)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return _run(logical_id, event)

    def close(self) -> None:
        pass
