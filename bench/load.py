"""Load test (issue 18, 4): locust in open model against `dinamis serve`, alone and while a
harvest of synthetic DIMAP products runs.

    .venv/bin/python bench/load.py --items 100000 --harvest-products 100000

1. The demo archive of --items items and the registry's demo accounts, on the embedded
   cluster under --home (DATABASE_URL for another database); the archive and the products
   written for the harvest stay there for the next run.
2. One `dinamis serve` per core (docs/operations.md), each on a free 127.0.0.1 port; the
   visitors are spread over them as by a round-robin balancer.
3. Visitors signed in as bruce.wayne (every licence), by bench/locustfile.py: 70 % filter
   changes of the viewer (a page of POST /search and its POST /aggregate counts, at once),
   15 % item reads whose data href must be signed, 10 % footprint tiles, 5 % GET /sign —
   shares of actions, not of requests: a filter change is 2 or 3 requests.
4. Phases: a warm-up; the idle run (one visitor asking back to back, every kind of task as
   often: its p95 in the load's mix weighs each class by its share); the load (--users
   visitors for --seconds, tasks arriving at --rate per second: open model, see the
   locustfile); the same load while `dinamis ingest` harvests --harvest-products products
   in another process, at once (they are taken out of the catalogue before and after).

It prints, and writes to bench/results/load-<items>.json: requests/s, p50/p95/p99 per
request class and overall, the errors, p95 against the idle run's, each API process's peak
resident memory, the statement_timeout the API's catalogue queries run under, the harvest's
rate and how long it overlapped the load, and the database's size. Every phase has a
timeout; the script stops its processes (and the embedded cluster, if it started it) on exit.

On the archive bench/scale.py built (16 M items): `--items 0 --home .dinamis-scale`, the
catalogue as it is.

Duration on this 2-core machine: 5 minutes at 100 000 items once the archive and the
products exist (`--prepare-only` makes them: about 20 minutes at low priority, 7.5 GB of
DIMAP files), and 3 to 5 minutes for `--items 20000 --seconds 15 --users 10
--harvest-products 2000` on a busy machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/…`, this folder would come first on sys.path and its scripts would
# shadow the project's packages (bench/ingest.py is `ingest`): put the project's root there.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import json
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlencode

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench.ingest import SAMPLES, forget, write_products
from bench.processes import BIN, Children, serve
from bench.search import RESULTS, database, summary, viewer_searches
from bench.viewer import ours_url, tile_requests
from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from pgstac.cluster import EmbeddedCluster
from pgstac.db import connect
from pgstac.settings import ClusterSettings, DatabaseSettings
from simulators.archive import load_demo_archive
from simulators.registry import load_registry_demo

USER, PASSWORD = "bruce.wayne@formation.example", "Toto@34090"
MIX = {"filter change": 70, "item read": 15, "tile": 10, "sign": 5}
CLASSES = ["POST /search", "POST /aggregate", "GET item", "GET /footprints", "GET /sign"]
HARVEST_PREFIX = "load-harvest/"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
METRICS_TOKEN = "load-test-metrics-" + "x" * 32


def counts_so_far(hosts: list[str]) -> Counter[str]:
    """The exact counts the API processes made and kept from an earlier one so far
    (`dinamis_counts_total` on their /metrics)."""
    totals: Counter[str] = Counter()
    for host in hosts:
        text = httpx.get(
            f"{host}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=60
        ).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "dinamis_counts_total":
                    totals[sample.labels["outcome"]] += int(sample.value)
    return totals


class PeakMemory(threading.Thread):
    """Samples the resident memory of the API processes twice a second; keeps each one's
    peak since the last `reset`."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.processes = [psutil.Process(pid) for pid in pids]
        self.peaks = [0] * len(pids)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.5):
            for i, process in enumerate(self.processes):
                try:
                    rss = process.memory_info().rss + sum(
                        child.memory_info().rss for child in process.children(recursive=True)
                    )
                except psutil.Error:
                    continue
                self.peaks[i] = max(self.peaks[i], rss)

    def reset(self) -> list[float]:
        """The peaks so far, in MB, and start again."""
        peaks, self.peaks = self.peaks, [0] * len(self.peaks)
        return [round(p / 2**20, 1) for p in peaks]


def sign_in(url: str) -> str:
    answer = httpx.post(
        f"{url}/auth/token", data={"username": USER, "password": PASSWORD}, timeout=120
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def readable_items(url: str, token: str, count: int, seed: int) -> list[list[str]]:
    """Items the account may download, found the way a visitor would."""
    found: dict[str, list[str]] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for body in viewer_searches(400, seed + 7):
            answer = client.post(
                "/search", json={**body, "downloadable": True, "conf": {"context": "off"}}
            )
            answer.raise_for_status()
            found |= {f["id"]: [f["collection"], f["id"]] for f in answer.json()["features"]}
            if len(found) >= count:
                break
    if not found:
        sys.exit(f"{USER} may download none of the archive's items: no item reads to make")
    return list(found.values())[:count]


def locust(
    plan: dict[str, Any], users: int, seconds: int, rate: float, workdir: Path, name: str
) -> dict[str, Any]:
    """One locust run; what bench/locustfile.py measured."""
    out = workdir / f"{name}.json"
    plan_file = workdir / f"{name}-plan.json"
    plan_file.write_text(json.dumps({**plan, "users": users, "rate": rate, "out": str(out)}))
    command = [
        str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
        "--stop-timeout", "30", "--host", plan["hosts"][0], "--loglevel", "WARNING",
    ]  # fmt: skip
    with (workdir / f"{name}.log").open("wb") as log:
        subprocess.run(  # no terminal: locust's keyboard control would stop on a background job
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LOAD_PLAN": str(plan_file)},
            timeout=seconds + 120,
        )
    if not out.exists():
        sys.exit(f"locust wrote no result, see {workdir / f'{name}.log'}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def samples(raw: dict[str, Any]) -> dict[str, list[float]]:
    """The answers' durations by request class, in seconds."""
    by_class: dict[str, list[float]] = defaultdict(list)
    for name, seconds in raw["timings"]:
        by_class[name].append(seconds)
    return by_class


def percentile_in_mix(
    by_class: dict[str, list[float]], shares: dict[str, float], q: float
) -> float | None:
    """The q-th percentile of durations measured in one mix of request classes, as it would
    be in another: each answer weighs its class's share in that mix over the answers of its
    class. The idle run asks every class as often, to know each one well."""
    weighted = sorted(
        (value, shares[name] / len(values))
        for name, values in by_class.items()
        if values and shares.get(name)
        for value in values
    )
    if not weighted:
        return None
    total, running = sum(w for _, w in weighted), 0.0
    for value, weight in weighted:
        running += weight
        if running >= total * q / 100:
            return value
    return weighted[-1][0]


def measured(raw: dict[str, Any], idle: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """Requests/s, p50/p95/p99 per request class and overall, errors, and p95 against the
    idle run's (overall: the idle run's classes in this run's mix)."""
    by_class = samples(raw)
    every = [seconds for _, seconds in raw["timings"]]
    duration = raw["window"][1] - raw["window"][0]
    result: dict[str, Any] = {
        "seconds": round(duration, 1),
        "requests": len(every),
        "rps": round(len(every) / duration, 2),
        "tasks_per_s": round(sum(raw["tasks"].values()) / duration, 2),
        "window": raw["window"],
        "errors": sum(n for _, _, n in raw["errors"]),
        "error_kinds": raw["errors"][:20],
        "classes": {
            name: {
                "requests": len(by_class[name]),
                "rps": round(len(by_class[name]) / duration, 2),
                **(summary(by_class[name]) if len(by_class[name]) > 1 else {}),
            }
            for name in CLASSES
        },
        "overall": summary(every) if len(every) > 1 else {},
    }
    if idle is not None:
        ratios = {}
        for name in CLASSES:
            ours = result["classes"][name]
            if "p95_ms" in ours and len(idle.get(name, [])) > 1:
                ratios[name] = round(ours["p95_ms"] / summary(idle[name])["p95_ms"], 2)
        shares = {name: len(values) / len(every) for name, values in by_class.items()}
        before = percentile_in_mix(idle, shares, 95)
        if result["overall"] and before:
            result["idle_p95_in_this_mix_ms"] = round(before * 1000, 2)
            ratios["overall"] = round(result["overall"]["p95_ms"] / (before * 1000), 2)
        result["p95_to_idle"] = ratios
    return result


def phase(
    plan: dict[str, Any],
    users: int,
    seconds: int,
    rate: float,
    workdir: Path,
    name: str,
    memory: PeakMemory,
    idle: dict[str, list[float]] | None = None,
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """A measured locust run, with the API processes' peak memory during it, the exact counts
    they made and kept from an earlier one, and, in open
    model, the share of the planned arrivals that came (below 1: the server could not keep
    up, and the visitors waited for it as in a closed loop); and its durations by class."""
    before = counts_so_far(plan["hosts"])
    raw = locust(plan, users, seconds, rate, workdir, name)
    result = measured(raw, idle)
    result["counts"] = dict(counts_so_far(plan["hosts"]) - before)
    result["peak_rss_mb"] = memory.reset()
    if rate:
        result["arrivals_reached"] = round(result["tasks_per_s"] / rate, 2)
    return result, samples(raw)


def show(title: str, phase: dict[str, Any]) -> None:
    reached = (
        f", {phase['arrivals_reached']:.0%} of those planned" if "arrivals_reached" in phase else ""
    )
    print(
        f"\n{title}: {phase['requests']} requests in {phase['seconds']} s, {phase['rps']} req/s "
        f"({phase['tasks_per_s']} tasks/s{reached}), {phase['errors']} errors; "
        f"peak resident memory of the API processes {phase['peak_rss_mb']} MB"
    )
    ratios = phase.get("p95_to_idle", {})
    for name, row in [*phase["classes"].items(), ("overall", phase["overall"])]:
        if "p95_ms" not in row:
            print(f"  {name:16s} {row.get('requests', 0):6d} requests")
            continue
        ratio = f"   p95/idle {ratios[name]:.2f}" if name in ratios else ""
        count = row.get("requests", phase["requests"])
        print(
            f"  {name:16s} {count:6d} requests  p50 {row['p50_ms']:8.1f}  p95 {row['p95_ms']:8.1f}"
            f"  p99 {row['p99_ms']:8.1f} ms{ratio}"
        )
    if counts := phase.get("counts"):
        print(f"  exact counts: {counts.get('made', 0)} made, {counts.get('kept', 0)} kept")
    if "idle_p95_in_this_mix_ms" in phase:
        print(f"  (idle p95 in this mix of requests: {phase['idle_p95_in_this_mix_ms']:.1f} ms)")
    for name, message, n in phase["error_kinds"]:
        print(f"  error x{n} {name}: {message}")


def targets(report: dict[str, Any]) -> None:
    """Issue 18's targets under the load test, met or not."""

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    for name, bound in (("load", 2.0), ("load_with_harvest", 1.5)):
        if name not in report:
            continue
        ratio = report[name]["p95_to_idle"].get("overall")
        errors, peak = report[name]["errors"], max(report[name]["peak_rss_mb"])
        within = ratio is not None and ratio <= bound
        print(
            f"target, {name}: p95 x{ratio} idle (<= {bound}: {verdict(within)}), "
            f"{errors} errors ({verdict(errors == 0)}), "
            f"peak RSS {peak} MB per API process (< 1024: {verdict(peak < 1024)})"
        )


def forget_harvest(dsn: str) -> int:
    """Take the load test's harvested products out of the catalogue and forget their
    fingerprints: the next harvest is a first one."""
    with connect(dsn) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT item_id FROM dinamis.harvested WHERE key LIKE %s", [HARVEST_PREFIX + "%"]
            )
        ]
        conn.execute("DELETE FROM dinamis.harvested WHERE key LIKE %s", [HARVEST_PREFIX + "%"])
    forget(dsn, ids)
    return len(ids)


def statement_timeouts(dsn: str) -> dict[str, Any]:
    """The bound of the API's catalogue queries (DINAMIS_DB_STATEMENT_TIMEOUT_MS, set on each
    connection of its pools), and the database's own default, which the application lane's
    connections keep."""
    with connect(dsn) as conn:
        default = conn.execute("SHOW statement_timeout").fetchone()
    return {
        "catalogue_lane_ms": DatabaseSettings(url=dsn).statement_timeout_ms,
        "database_default": default[0] if default else None,
    }


def database_size(dsn: str) -> dict[str, Any]:
    with connect(dsn) as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()), (SELECT count(*) FROM pgstac.items)"
        ).fetchone()
    assert row is not None
    size, items = int(row[0]), int(row[1])
    return {
        "bytes": size,
        "items": items,
        "gb_per_million_items": round(size / 2**30 / (items / 1e6), 2) if items else None,
    }


def main() -> None:
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60, help="of each loaded phase")
    parser.add_argument(
        "--rate", type=float, default=10.0,
        help="tasks arriving per second, all visitors together (each: --users / --rate s apart)",
    )  # fmt: skip
    parser.add_argument("--idle-seconds", type=int, default=30)
    parser.add_argument("--warmup-seconds", type=int, default=10)
    parser.add_argument("--harvest-products", type=int, default=100_000)
    parser.add_argument("--harvest-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--harvest-timeout", type=int, default=1800, help="seconds")
    parser.add_argument("--api-processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--home", type=Path, default=Path(".dinamis-bench"))
    parser.add_argument(
        "--prepare-only", action="store_true",
        help="load the archive and write the products, then stop (no load test)",
    )  # fmt: skip
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]  # progress in a log
    if args.harvest_products and not SAMPLES.is_dir():
        sys.exit(f"the real samples are needed as templates: {SAMPLES} is missing")
    # A stop (SIGTERM) unwinds like Ctrl-C: the children and the cluster are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))

    home = args.home.absolute()
    with ExitStack() as stack:
        cluster = EmbeddedCluster(ClusterSettings(home=home))
        if not os.environ.get("DATABASE_URL") and not cluster.status().running:
            stack.callback(cluster.stop)
        dsn = database(home)
        migrate_all(dsn, load_plugins(DEFAULT_PLUGINS))
        load_registry_demo(dsn)
        loaded = load_demo_archive(dsn, home / "storage", items=args.items, seed=args.seed)
        print(f"archive: {loaded.total} items ({loaded.loaded} loaded now)")
        products = home / f"harvest-{args.harvest_products}"
        if args.harvest_products:
            started = time.perf_counter()
            write_products(products, args.harvest_products, args.seed)
            took = time.perf_counter() - started
            print(f"{args.harvest_products} products for the harvest in {products} ({took:.0f} s)")
            forget_harvest(dsn)
        if args.prepare_only:
            return

        workdir = Path(tempfile.mkdtemp(prefix="dinamis-load-"))
        children = Children(workdir)
        stack.callback(children.stop_all)
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "DINAMIS_HOME": str(home),
            "DINAMIS_STORAGE_ROOT": str(home / "storage"),
            "DINAMIS_METRICS_TOKEN": METRICS_TOKEN,
        }
        apis = serve(children, {f"api-{n}": env for n in range(args.api_processes)}, 300)
        hosts = list(apis.values())
        print(f"{len(hosts)} API processes (one per core): {', '.join(hosts)}; logs in {workdir}")
        memory = PeakMemory([children.running[name].pid for name in apis])
        memory.start()
        stack.callback(memory.halt.set)

        token = sign_in(hosts[0])
        plan = {
            "hosts": hosts,
            "token": token,
            "seed": args.seed,
            "weights": MIX,
            "searches": viewer_searches(2000, args.seed),
            "items": readable_items(hosts[0], token, 1000, args.seed),
            "tiles": [
                f"{path}?{urlencode(params)}"
                for path, params in map(ours_url, tile_requests(1000, args.seed))
            ],
        }
        # The demo's archive, or a larger one already there (bench/scale.py's, with --items 0).
        held = database_size(dsn)["items"]
        report: dict[str, Any] = {
            "items": held,
            "api_processes": len(hosts),
            "users": args.users,
            "rate_tasks_per_s": args.rate,
            "mix": MIX,
            "statement_timeout": statement_timeouts(dsn),
        }
        out = RESULTS / f"load-{held}.json"
        RESULTS.mkdir(exist_ok=True)

        def save() -> None:
            out.write_text(json.dumps(report, indent=2))

        locust(plan, 1, args.warmup_seconds, 0, workdir, "warmup")
        memory.reset()
        evenly = {**plan, "weights": dict.fromkeys(MIX, 1)}
        report["idle"], idle = phase(evenly, 1, args.idle_seconds, 0, workdir, "idle", memory)
        show("idle (one visitor, back to back, every kind of task as often)", report["idle"])
        save()

        report["load"], _ = phase(
            plan, args.users, args.seconds, args.rate, workdir, "load", memory, idle
        )
        show(f"load ({args.users} visitors, {args.rate} tasks/s)", report["load"])
        save()

        if args.harvest_products:
            harvest = children.start(
                "harvest",
                [
                    str(BIN / "dinamis"), "ingest", str(products), "--href-prefix",
                    HARVEST_PREFIX, "--workers", str(args.harvest_workers),
                    "--report", str(workdir / "harvest-report.json"),
                ],
                env,
            )  # fmt: skip
            began = time.time()
            ended: dict[str, float] = {}
            watcher = threading.Thread(
                target=lambda: (harvest.wait(), ended.setdefault("at", time.time())), daemon=True
            )
            watcher.start()
            during, _ = phase(
                plan, args.users, args.seconds, args.rate, workdir, "during-harvest", memory, idle
            )
            watcher.join(timeout=args.harvest_timeout)
            if harvest.poll() is None:
                sys.exit(f"the harvest did not end within {args.harvest_timeout} s")
            harvested = json.loads((workdir / "harvest-report.json").read_text())
            seconds = harvested["seconds"]
            overlap = min(ended["at"], during["window"][1]) - max(began, during["window"][0])
            during["harvest"] = {
                "products": args.harvest_products,
                "workers": args.harvest_workers,
                "exit_code": harvest.returncode,
                "loaded": harvested["loaded"],
                "failed": harvested["failed"],
                "seconds": round(seconds, 1),
                "items_per_s": round(harvested["loaded"] / seconds) if seconds else None,
                "overlap_with_load_s": round(max(overlap, 0), 1),
            }
            report["load_with_harvest"] = during
            show(f"load while harvesting {args.harvest_products} products", during)
            h = during["harvest"]
            print(
                f"  harvest: {h['loaded']} loaded in {h['seconds']} s ({h['items_per_s']} items/s, "
                f"{h['workers']} workers), {h['overlap_with_load_s']} s of it under the load"
            )
            save()
            forget_harvest(dsn)

        report["database"] = database_size(dsn)
        save()
        print(f"\nstatement_timeout: {report['statement_timeout']}")
        targets(report)
        print(f"database: {report['database']}")
        print(f"written to {out}")


if __name__ == "__main__":
    main()
