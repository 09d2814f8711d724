"""The load test's visitors, for `locust --headless` run by bench/load.py (not on its own).

Everything comes from the plan file named by LOAD_PLAN (written by bench/load.py): the API
processes' URLs, a signed-in account's bearer token, the searches, items and tiles to ask for,
the mix, the arrival rate, and where to write what was measured. This file imports nothing of
the project: locust's gevent patches only this process.

Open model: every visitor starts its tasks at a constant rate (locust's
`constant_throughput`), each at a random phase, so that the tasks arrive at the plan's rate
whatever the answers' latency, as long as no task outlasts its visitor's period (50 visitors
at 10 tasks/s: 5 s). A task that does starts the next one at once: the achieved rate,
written beside the planned one, shows a saturated run. A closed loop of users who ask again
as soon as they are answered would instead slow down with the server and hide its queue.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import constant, constant_throughput, events
from locust.contrib.fasthttp import FastHttpUser

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
SORT = [{"field": "datetime", "direction": "desc"}]

timings: list[tuple[str, float]] = []  # (request class, seconds) of each answer
errors: Counter[tuple[str, str]] = Counter()  # (request class, what went wrong)
begun: Counter[str] = Counter()  # tasks begun, by kind
window: dict[str, float] = {}  # when the visitors began and stopped, wall clock
visitor_numbers = itertools.count()


@events.request.add_listener
def record(name: str, response_time: float, exception: Exception | None, **_: Any) -> None:
    timings.append((name, response_time / 1000))
    if exception is not None:
        errors[(name, str(exception)[:200])] += 1


@events.test_start.add_listener
def started(**_: Any) -> None:
    window["start"] = time.time()


@events.test_stop.add_listener
def stopped(**_: Any) -> None:
    window["stop"] = time.time()


@events.quitting.add_listener
def write(**_: Any) -> None:
    window.setdefault("stop", time.time())
    result = {
        "window": [window.get("start", window["stop"]), window["stop"]],  # wall clock
        "timings": timings,
        "errors": [[name, message, n] for (name, message), n in errors.items()],
        "tasks": dict(begun),
    }
    Path(PLAN["out"]).write_text(json.dumps(result))


class Visitor(FastHttpUser):
    """A signed-in visitor of the viewer: filter changes, item pages, tiles, signatures."""

    host = PLAN["hosts"][0]
    wait_time = constant_throughput(PLAN["rate"] / PLAN["users"]) if PLAN["rate"] else constant(0)

    def __init__(self, environment: Any) -> None:
        number = next(visitor_numbers)
        # Visitors are spread over the API processes, as a round-robin balancer would.
        self.host = PLAN["hosts"][number % len(PLAN["hosts"])]
        super().__init__(environment)
        self.rng = random.Random(PLAN["seed"] * 10_000 + number)
        self.headers = {"Authorization": f"Bearer {PLAN['token']}"}

    def on_start(self) -> None:
        if PLAN["rate"]:  # a random phase: the visitors' arrivals spread over one period
            gevent.sleep(self.rng.uniform(0, PLAN["users"] / PLAN["rate"]))

    def filter_change(self) -> None:
        """What the viewer asks at once after a change of its filters (as bench/viewer.py's
        filter_change): the first page, not counted again, and one count of the whole search
        with its missions and its timeline (the timeline without the period, if it has one)."""
        begun["filter change"] += 1
        body = self.rng.choice(PLAN["searches"])
        calls = [
            ("POST /search", {**body, "limit": 50, "sortby": SORT, "conf": {"context": "off"}})
        ]
        aggregations = ["total_count", "platform_frequency"]
        if "datetime" in body:
            other = {k: v for k, v in body.items() if k != "datetime"}
            calls.append(("POST /aggregate", {**other, "aggregations": ["datetime_frequency"]}))
        else:
            aggregations.append("datetime_frequency")
        calls.append(("POST /aggregate", {**body, "aggregations": aggregations}))
        gevent.joinall(
            [
                gevent.spawn(
                    self.client.post, name.split()[1], json=payload, name=name, headers=self.headers
                )
                for name, payload in calls
            ]
        )

    def item_read(self) -> None:
        """An item page; its data href must come back signed (the account holds every licence)."""
        begun["item read"] += 1
        collection, item_id = self.rng.choice(PLAN["items"])
        with self.client.get(
            f"/collections/{collection}/items/{item_id}",
            name="GET item",
            headers=self.headers,
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                data = (response.json() or {}).get("assets", {}).get("data", {})
                if "dinamis:expires" not in data:
                    response.failure("data href not signed")

    def tile(self) -> None:
        """A footprint tile of the viewer's map, with the terms of a search."""
        begun["tile"] += 1
        self.client.get(
            self.rng.choice(PLAN["tiles"]), name="GET /footprints", headers=self.headers
        )

    def sign(self) -> None:
        """A signature of an item's data href (GET /sign)."""
        begun["sign"] += 1
        collection, item_id = self.rng.choice(PLAN["items"])
        href = f"{self.host}/collections/{collection}/items/{item_id}/assets/data"
        self.client.get(
            "/sign?" + urlencode({"href": href}), name="GET /sign", headers=self.headers
        )

    tasks = {  # noqa: RUF012 - locust reads the weighted tasks from the class
        filter_change: PLAN["weights"]["filter change"],
        item_read: PLAN["weights"]["item read"],
        tile: PLAN["weights"]["tile"],
        sign: PLAN["weights"]["sign"],
    }
