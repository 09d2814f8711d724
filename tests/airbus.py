"""The OneAtlas simulator served over real HTTP on 127.0.0.1, for the tests that talk to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from pgstac.cluster import free_port
from simulators.oneatlas import SimulatorSettings, create_simulator


@contextmanager
def running_simulator(
    settings: SimulatorSettings, held: Iterable[dict[str, Any]] = (), port: int | None = None
) -> Iterator[str]:
    """The simulator's base URL while it runs (stopped on exit, bounded start); `port` to
    start it again where it was."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(
            create_simulator(settings, held, url), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
