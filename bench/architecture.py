"""How the code is wired, measured on a running app: the project modules a signed-in
`POST /search` enters (in the order it first enters them, and how often it goes from one
module to another), and the names the app keeps on `app.state`.

    .venv/bin/python bench/architecture.py [--home .dinamis-bench]

It loads the registry's demo and a small demo archive into the bench cluster (idempotent),
signs in as a validated user, warms up, then traces one search with `sys.setprofile`.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import asyncio
import json
import logging
import threading
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("stac_api", "extensions", "ingest", "pgstac", "registry_plugin", "ordering_plugin")
USER = "bruce.wayne@formation.example"
SEARCH = {
    "collections": ["pleiades", "spot67"],
    "bbox": [3.7, 43.5, 4.0, 43.7],
    "datetime": "2015-01-01T00:00:00Z/..",
    "limit": 20,
}


def module_of(filename: str) -> str | None:
    path = Path(filename)
    try:
        relative = path.resolve().relative_to(ROOT)
    except ValueError:
        return None
    if relative.parts[0] not in PACKAGES:
        return None
    return ".".join(relative.with_suffix("").parts).removesuffix(".__init__")


def caller_module(frame: FrameType | None) -> str | None:
    """The nearest project module up the stack (library frames in between are skipped)."""
    while frame is not None:
        if (module := module_of(frame.f_code.co_filename)) is not None:
            return module
        frame = frame.f_back
    return None


class Tracer:
    """The project modules entered (first entries in order), how often the path goes from
    one module to another, and which module calls which."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.moves = 0
        self.last: str | None = None
        self.edges: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        module = module_of(frame.f_code.co_filename)
        if module is None:
            return
        caller = caller_module(frame.f_back)
        with self.lock:
            if module not in self.order:
                self.order.append(module)
            if module != self.last:
                self.moves += 1
                self.last = module
            if caller is not None and caller != module:
                self.edges.add((caller, module))


async def measure(settings: Any, create_app: Any) -> dict[str, Any]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = await client.post(
                "/auth/token", data={"username": USER, "password": "Toto@34090"}
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            for _ in range(3):  # warm-up: imports, caches
                (await client.post("/search", json=SEARCH, headers=headers)).raise_for_status()
            tracer = Tracer()
            threading.setprofile(tracer)
            sys.setprofile(tracer)
            try:
                response = await client.post("/search", json=SEARCH, headers=headers)
            finally:
                sys.setprofile(None)
                threading.setprofile(None)  # type: ignore[arg-type]
            response.raise_for_status()
        names = sorted(app.state._state)
    return {
        "search_modules": tracer.order,
        "search_module_count": len(tracer.order),
        "search_module_moves": tracer.moves,
        "search_calls_between_modules": sorted(f"{a} -> {b}" for a, b in tracer.edges),
        "search_call_edge_count": len(tracer.edges),
        "app_state": names,
        "app_state_count": len(names),
        "features": len(response.json()["features"]),
    }


def main() -> None:
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, default=Path(".dinamis-bench"))
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()

    try:
        from extensions.settings import Settings
    except ImportError:
        from stac_api.settings import Settings  # type: ignore[no-redef]
    from pgstac.cluster import EmbeddedCluster
    from pgstac.settings import ClusterSettings, DatabaseSettings
    from stac_api.app import create_app

    try:  # the layout since the structural step (issue 13)
        from extensions.plugins import DEFAULT_PLUGINS, load_plugins
        from extensions.plugins import migrate_all as migrate_plugins
        from simulators.archive import load_demo_archive
        from simulators.registry import load_registry_demo

        def migrate_all(dsn: str) -> None:
            migrate_plugins(dsn, load_plugins(DEFAULT_PLUGINS))

        def demo(dsn: str) -> None:
            load_registry_demo(dsn)
    except ImportError:  # the layout before it
        from ingest.demo import load_demo_archive  # type: ignore[no-redef]

        from extensions.plugins import load_plugins, migrate_all  # type: ignore[no-redef]

        def demo(dsn: str) -> None:
            for plugin in load_plugins(["registry"]):
                plugin.load_demo(dsn)  # type: ignore[attr-defined]

    status = EmbeddedCluster(ClusterSettings(home=args.home)).start()
    assert status.dsn
    migrate_all(status.dsn)
    demo(status.dsn)
    storage = args.home / "storage"
    load_demo_archive(status.dsn, storage, items=args.items, seed=2026, progress=False)
    settings = Settings()
    settings.database = DatabaseSettings(url=status.dsn)
    result = asyncio.run(measure(settings, create_app))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
