"""Load over HTTP: complete authorization flows from concurrent merchant threads, then an audit of the tables.

    python tests/e2e/load.py [--flows 2000] [--clients 16] [--workers 4] [--engine dynamodb-local|moto]
    python tests/e2e/load.py --url http://127.0.0.1:3000 --state-dir .local   # against a running `miniauth serve`

A flow is what a merchant does with one user's authorization: getAuthCode (the wallet) -> applyToken ->
inquiryUserInfo -> refresh -> inquiryUserInfo with the new token -> revoke. The SDK runs with retries=0, so
every failure is counted instead of being retried away. Exits non-zero on any error or audit finding, and
stops early (an error too) when the server it started grows past --max-server-mb of memory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from miniauth_sdk import MerchantClient, UrllibTransport

from audit import Audit, Held, audit
from stored import Tables

CLIENT_ID, APP_ID = "2022000000000001", "2021000000000001"
USERS = ("2088000000000001", "2088000000000002")  # the demo data's users, taken in turn
OPERATIONS = ("getAuthCode", "applyToken", "inquiryUserInfo", "refresh", "revoke")
CALLS_PER_FLOW = 6  # inquiryUserInfo runs twice
TIMEOUT = 30.0  # generous: a slow answer shows in p99; only a stuck one counts as an error

T = TypeVar("T")


class WrongAnswer(Exception):
    """A call succeeded but answered something the flow did not expect."""


class Flows:
    """Runs flows against one server; every call and every flow is timed."""

    def __init__(self, url: str, sdk: MerchantClient) -> None:
        self.url = url
        self.sdk = sdk
        self.wallet = UrllibTransport(TIMEOUT)
        # list.append is atomic, so the client threads share these lists without a lock.
        self.latencies: dict[str, list[float]] = {operation: [] for operation in OPERATIONS}
        self.flow_latencies: list[float] = []
        self.errors: list[str] = []
        self.stopped: str | None = None  # why no further flow may start

    def _timed(self, operation: str, call: Callable[[], T]) -> T:
        begun = time.perf_counter()
        try:
            return call()
        finally:
            self.latencies[operation].append(time.perf_counter() - begun)

    def _auth_code(self, user_id: str) -> str:
        body = {"userId": user_id, "appId": APP_ID, "scopes": ["auth_base"], "consentedScopes": []}
        raw = self.wallet(self.url + "/wallet/getAuthCode", json.dumps(body).encode(),
                          {"Content-Type": "application/json"})
        answer = json.loads(raw.body)
        if raw.status != 200 or answer.get("result", {}).get("resultCode") != "SUCCESS":
            raise WrongAnswer(f"getAuthCode answered HTTP {raw.status} {answer.get('result')}")
        return answer["authCode"]

    def _inquiry(self, access_token: str, user_id: str) -> None:
        info = self._timed("inquiryUserInfo", lambda: self.sdk.inquiry_user_info(access_token, APP_ID))
        if info.user_id != user_id:
            raise WrongAnswer(f"inquiryUserInfo answered user {info.user_id}, expected {user_id}")

    def one(self, index: int) -> Held | None:
        """One complete flow; returns what the merchant holds afterwards, or None when a call failed."""
        if self.stopped:
            return None
        user_id = USERS[index % len(USERS)]
        begun = time.perf_counter()
        try:
            code = self._timed("getAuthCode", lambda: self._auth_code(user_id))
            first = self._timed("applyToken", lambda: self.sdk.apply_token(code, APP_ID))
            self._inquiry(first.access_token, user_id)
            second = self._timed("refresh", lambda: self.sdk.refresh(first.refresh_token, APP_ID))
            self._inquiry(second.access_token, user_id)
            self._timed("revoke", lambda: self.sdk.revoke(second.access_token, APP_ID))
        except Exception as error:  # whatever went wrong is one counted error of the run
            self.errors.append(f"flow {index}: {type(error).__name__}: {error}")
            return None
        self.flow_latencies.append(time.perf_counter() - begun)
        return Held(CLIENT_ID, APP_ID, user_id, code, first, second)


def _descendants(pid: int) -> list[int]:
    found = [pid]
    for tasks in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [grandchild for child in tasks.read_text().split() for grandchild in _descendants(int(child))]
        except OSError:
            continue
    return found


def server_memory_mb(pid: int) -> int | None:
    """Resident memory of a local process and its children (workers, DynamoDB Local) from Linux's /proc.

    None where it cannot be read.
    """
    total, seen = 0, False
    for member in _descendants(pid):
        try:
            found = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{member}/status").read_text(), re.MULTILINE)
        except OSError:
            continue
        if found:
            total, seen = total + int(found.group(1)), True
    return total // 1024 if seen else None


class MemoryWatch:
    """Samples the server's memory while flows run; past `limit_mb` it stops the run before it takes the machine.

    Counted with its workers and its database. The moto engine lives in the server's main process and
    keeps a copy of every table each TransactWriteItems touches, so it grows with every flow: thousands
    of flows need tens of GB. DynamoDB Local holds only the items.
    """

    def __init__(self, pid: int, limit_mb: int, flows: Flows) -> None:
        self.pid, self.limit_mb, self.flows = pid, limit_mb, flows
        self.peak_mb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._done.wait(0.5):
            self.peak_mb = max(self.peak_mb, server_memory_mb(self.pid) or 0)
            if self.peak_mb > self.limit_mb:
                self.flows.stopped = f"server memory {self.peak_mb} MB is over the {self.limit_mb} MB limit"
                return

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, server_memory_mb(self.pid) or 0)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


def _ms(values: Sequence[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:.0f} ms, p99 {percentile(values, 99) * 1000:.0f} ms"


@dataclass
class Report:
    flows: int
    clients: int
    seconds: float
    latencies: dict[str, list[float]]
    flow_latencies: list[float]
    errors: list[str]
    audit: Audit
    server_mb: int | None = None  # the server's peak resident memory, when it runs on this machine

    @property
    def ok(self) -> bool:
        return not self.errors and self.audit.clean

    def figure(self) -> str:
        calls = [value for values in self.latencies.values() for value in values]
        done = len(self.flow_latencies)
        flows = f"{done} flows" if done == self.flows else f"{done} of {self.flows} flows"
        return (f"load: {flows} from {self.clients} clients in {self.seconds:.1f} s, "
                f"{done / self.seconds:.1f} flows/s, {len(calls) / self.seconds:.0f} calls/s, "
                f"calls {_ms(calls)}, flows {_ms(self.flow_latencies)}, {len(self.errors)} errors, "
                f"{self.audit.line()}" + (f", server peak {self.server_mb} MB" if self.server_mb else ""))

    def lines(self, shown: int = 10) -> list[str]:
        lines = [self.figure()]
        lines += [f"load:   {operation:<16} {len(values):>6} calls, {_ms(values)}"
                  for operation, values in self.latencies.items()]
        lines += [f"error: {error}" for error in self.errors[:shown]]
        lines += [f"audit: {finding}" for finding in self.audit.findings[:shown]]
        hidden = max(0, len(self.errors) - shown) + max(0, len(self.audit.findings) - shown)
        return lines + ([f"... and {hidden} more"] if hidden else [])


def run_load(url: str, state: dict[str, Any], flows: int, clients: int, server_pid: int | None = None,
             max_server_mb: int = 4096) -> Report:
    """`state` is the server's server.json: its merchant keys, wallet public key and DynamoDB endpoint.

    With `server_pid` (a server on this machine) its memory is watched and reported.
    """
    tables = Tables(state["dynamodbEndpoint"])
    before = tables.keys()  # so a server that already holds data can be audited too
    sdk = MerchantClient.from_files(url, CLIENT_ID, state["merchantKeys"][CLIENT_ID], state["walletPublicKey"],
                                    retries=0, timeout=TIMEOUT)
    runner = Flows(url, sdk)
    begun = time.perf_counter()
    with contextlib.ExitStack() as stack:
        watch = stack.enter_context(MemoryWatch(server_pid, max_server_mb, runner)) if server_pid else None
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=clients))  # a thread is a merchant
        held = [flow for flow in pool.map(runner.one, range(flows)) if flow is not None]
    seconds = time.perf_counter() - begun
    if runner.stopped:
        runner.errors.append(f"stopped early, {runner.stopped}: {flows - len(held)} of {flows} flows did not run")
    return Report(flows, clients, seconds, runner.latencies, runner.flow_latencies, runner.errors,
                  audit(tables, held, before), watch.peak_mb if watch else None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16, help="concurrent merchant threads")
    parser.add_argument("--workers", type=int, default=4, help="worker processes of the server started")
    parser.add_argument("--engine", choices=["dynamodb-local", "moto"],
                        help="database of the server started (default: miniauth serve's, DynamoDB Local)")
    parser.add_argument("--url", help="a running `miniauth serve` (default: start one)")
    parser.add_argument("--state-dir", default=".local", help="with --url: that server's --state-dir")
    parser.add_argument("--max-server-mb", type=int, default=4096,
                        help="stop the run when the server started grows past this resident memory")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.url:
            url, state, pid = args.url, json.loads((Path(args.state_dir) / "server.json").read_text()), None
        else:
            # served.py needs support.py from the tests folder, on the path under pytest but not as a script.
            sys.path.append(str(Path(__file__).resolve().parents[1]))
            from served import ServedApi  # only needed, with its test keys, when starting a server

            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            engine = ["--engine", args.engine] if args.engine else []
            served = stack.enter_context(ServedApi(state_dir, "--workers", str(args.workers), *engine))
            url, state, pid = served.url, served.state, served.process.pid
            print(f"load: started miniauth serve with {args.workers} workers on {state.get('dynamodbEngine')} "
                  f"in {served.started_in:.1f} s")
        print(f"load: {args.flows} flows from {args.clients} clients against {url} ...", flush=True)
        report = run_load(url, state, args.flows, args.clients, pid, args.max_server_mb)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
