"""make bench [BENCH_ARGS="--quick"]: one table of figures next to their floors, then one closing line."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cold  # noqa: E402
import layer  # noqa: E402
import load  # noqa: E402
import warm  # noqa: E402
from environment import OPEN_API, Setup  # noqa: E402

GOALS = {"cold": 1.3, "first": 1.5, "warm": 5.0, "own": 3.0}


def spread(values: Sequence[float], digits: int = 1) -> list[str]:
    return [f"{min(values):.{digits}f}", f"{statistics.median(values):.{digits}f}", f"{max(values):.{digits}f}"]


def ratios(values: Sequence[float], floors: Sequence[float]) -> list[float]:
    """Per round: each figure over the floor measured in the same round."""
    return [v / f for v, f in zip(values, floors, strict=True) if f > 0]


class Table:
    HEAD = ("section", "what", "min", "median", "max", "floor (median)", "ratio", "goal", "")

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: object) -> None:
        self.rows.append(tuple("" if c is None else str(c) for c in cells))

    def render(self) -> str:
        rows = [self.HEAD, *self.rows]
        width = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(self.HEAD))]
        lines = []
        for n, row in enumerate(rows):
            padded = zip(row, width, strict=False)
            cells = [c.rjust(w) if 2 <= i <= 7 else c.ljust(w) for i, (c, w) in enumerate(padded)]
            lines.append(" | ".join(cells).rstrip())
            if n == 0:
                lines.append("-+-".join("-" * w for w in width))
        return "\n".join(lines)


def verdict(ratio: float, goal: str) -> str:
    """The goal column: the bound of GOALS[goal] and whether the ratio keeps it."""
    return f"<= {GOALS[goal]}x {'ok' if ratio <= GOALS[goal] else 'OVER'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few rounds and calls, 20 flows, no layer download")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 15; --quick 2)")
    parser.add_argument("--calls", type=int, help="warm calls per container (default 40; --quick 8)")
    parser.add_argument("--load", default=None,
                        help="flows for tests/e2e/load.py, comma-separated, or 'none' (default 300,2000; --quick 12)")
    parser.add_argument("--no-layer", action="store_true", help="skip building the layer")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 15)
    calls = args.calls or (8 if args.quick else 40)
    flows = args.load or ("12" if args.quick else "300,2000")
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        setup = Setup(Path(scratch))
        perf = cold.perf_works()
        print(f"bench: {rounds} interleaved rounds; cold init ...", file=sys.stderr, flush=True)
        inits = cold.measure(setup, rounds, perf)
        imported = setup.functions[:1] if args.quick else setup.functions
        imports = {f.logical_id: cold.top_imports(f, 3) for f in imported}
        print("bench: first and warm invocations ...", file=sys.stderr, flush=True)
        runs = warm.measure(setup, rounds, calls, profile_calls=10 if args.quick else 30)
        runs_profiled = {op: runs[f"{op} http"].results[0] for _, op in warm.MEASURED}
        requests = warm.requests(setup, runs)
    loads = []
    if flows != "none":
        for n in (int(x) for x in flows.split(",")):
            print(f"bench: tests/e2e/load.py --flows {n} ...", file=sys.stderr, flush=True)
            loads.append(load.run(n))
    built, method = (None, "skipped (--no-layer)") if args.no_layer else layer.build(args.quick)

    table = Table()
    closing: dict[str, str] = {}
    # -- cold init
    pass_ms, boto_ms = inits[cold.FLOOR_PASS].cpu_ms, inits[cold.FLOOR_BOTOCORE].cpu_ms
    table.add("cold init", "floor: python -c pass", *spread(pass_ms), "", "", "", "CPU ms")
    table.add("cold init", "floor: botocore DynamoDB client", *spread(boto_ms), "", "", "",
              f"CPU ms, RSS {statistics.median(inits[cold.FLOOR_BOTOCORE].rss_mib):.0f} MiB")
    libraries_ms = inits[cold.FLOOR_LIBRARIES].cpu_ms
    libraries_ratio = statistics.median(ratios(libraries_ms, boto_ms))
    table.add("cold init", "floor: the runtime's libraries", *spread(libraries_ms), f"{statistics.median(boto_ms):.1f}",
              f"{libraries_ratio:.2f}x", "", "CPU ms: pynamodb (its client), Powertools Logger+Metrics, "
              "pydantic-core, cryptography")
    cold_ratios, above_libraries = [], []
    for f in setup.functions:
        s = inits[f.logical_id]
        r = statistics.median(ratios(s.cpu_ms, boto_ms))
        cold_ratios.append(r)
        above_libraries.append(statistics.median(ratios(s.cpu_ms, libraries_ms)))
        table.add("cold init", f.logical_id, *spread(s.cpu_ms), f"{statistics.median(boto_ms):.1f}",
                  f"{r:.2f}x", verdict(r, "cold"),
                  f"CPU ms, RSS {statistics.median(s.rss_mib):.0f} MiB; {above_libraries[-1]:.2f}x the libraries")
    closing["cold"] = (f"cold init {min(cold_ratios):.2f}-{max(cold_ratios):.2f}x botocore-client floor "
                       f"(libraries alone {libraries_ratio:.2f}x; functions {min(above_libraries):.2f}-"
                       f"{max(above_libraries):.2f}x the libraries)")
    # -- first call and warm cost
    floor = runs[warm.FLOOR]
    floor_first = floor.values("first_ms")
    table.add("first call", "floor: first GetItem, client made at init", *spread(floor_first, 2), "", "", "",
              "CPU ms")
    table.add("warm", "floor: botocore GetItem", *spread(floor.values("warm_ms"), 2), "", "", "", "CPU ms")
    firsts, totals, owns = [], [], []
    for _, op in warm.MEASURED:
        http = runs[f"{op} http"]
        r = statistics.median(ratios(http.values("first_ms"), floor_first))
        firsts.append(r)
        grown = statistics.median(a - b for a, b in zip(http.values("rss_after_mib"), http.values("rss_before_mib"),
                                                        strict=True))
        table.add("first call", f"{op} (stub DynamoDB)", *spread(http.values("first_ms"), 2),
                  f"{statistics.median(floor_first):.2f}", f"{r:.1f}x", verdict(r, "first"),
                  f"CPU ms, RSS +{grown:.0f} MiB")
    for _, op in warm.MEASURED:
        # "total" (the stub: pynamodb and botocore counted) against goal "warm", "own" (the fake port) against "own".
        for mode, what, goal, found in (("http", "total (stub DynamoDB)", "warm", totals),
                                        ("port", "own (fake port)", "own", owns)):
            run = runs[f"{op} {mode}"]
            crypto = run.values("crypto_ms")
            r = statistics.median(ratios(run.values("warm_ms"), crypto))
            found.append(r)
            table.add("warm", f"{op} {what}", *spread(run.values("warm_ms"), 2), f"{statistics.median(crypto):.2f}",
                      f"{r:.1f}x", verdict(r, goal), "CPU ms; floor: RSA sign+verify")
    closing["first"] = f"first call {min(firsts):.1f}-{max(firsts):.1f}x GetItem floor"
    closing["warm"] = f"warm total {min(totals):.1f}-{max(totals):.1f}x crypto floor"
    closing["own"] = f"own {min(owns):.1f}-{max(owns):.1f}x crypto floor"
    # -- requests
    for op, first, warm_names in requests:
        # Open API: the replay marker's PutItem, the first read, the write (a refusal judged from the read: 2).
        minimum = {"unknownCode": 2, "getAuthCode": 2}.get(op, 3)
        table.add("requests", op, "", len(warm_names), "", minimum, f"{len(warm_names) / minimum:.1f}x", "minimum",
                  f"{' + '.join(warm_names)} (cold registry: {len(first)})")
    closing["requests"] = "requests " + "/".join(str(len(w)) for _, _, w in requests)
    # -- throughput
    for result in loads:
        figure = result["calls_per_s"] if result["ok"] else "failed"
        table.add("throughput", f"tests/e2e/load.py --flows {result['flows']}", "", figure, "", "", "", "",
                  f"calls/s in {result['seconds']} s, {result['errors']} errors")
    if loads:
        closing["load"] = ", ".join(f"{r['flows']} flows {r['calls_per_s'] if r['ok'] else 'failed'} calls/s"
                                    for r in loads)
    else:
        table.add("throughput", "tests/e2e/load.py", "", "skipped", "", "", "", "", "--load none")
    # -- layer
    if built is not None:
        unzipped, zipped, largest, shipped = layer.sizes(built)
        bundled = ", ".join(p for p in shipped if not p.startswith("(")) or "none"
        bytecode = " (with 3.13 bytecode)" if "(with 3.13 bytecode)" in shipped else " (no bytecode)"
        table.add("layer", "unzipped", "", f"{unzipped / 1e6:.1f}", "", "", "", "nothing the runtime ships",
                  f"MB{bytecode}; runtime packages bundled: {bundled}")
        table.add("layer", "zipped", "", f"{zipped / 1e6:.1f}", "", "", "", "", "MB")
        closing["layer"] = f"layer {unzipped / 1e6:.1f} MB ({zipped / 1e6:.1f} MB zipped)"
    else:
        table.add("layer", "size", "", "skipped", "", "", "", "", method)

    print(table.render())
    print()
    print("top imports (cumulative ms, one init): " + "; ".join(
        f"{fn}: " + ", ".join(f"{name} {ms:.0f}" for name, ms in found) for fn, found in imports.items()))
    if perf:
        print("instructions (perf stat, one init): " + ", ".join(
            f"{name} {s.instructions[0] / 1e6:.0f}M" for name, s in inits.items() if s.instructions))
    else:
        print("instructions: perf stat -e instructions is not supported here (no PMU access); skipped")
    for op, result in runs_profiled.items():
        buckets = sorted(result["buckets"].items(), key=lambda kv: -kv[1])
        total = sum(v for _, v in buckets) or 1.0
        print(f"profile {op} (cProfile, ms/call, stub DynamoDB): " +
              ", ".join(f"{name} {ms:.2f} ({ms / total:.0%})" for name, ms in buckets))
    if built is not None:
        print(f"layer ({method}): largest " + ", ".join(f"{n} {b / 1e6:.1f} MB" for n, b in largest))
    print("open API functions: " + ", ".join(OPEN_API))
    print(f"bench figures: {'; '.join(closing.values())} ({rounds} rounds, {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
