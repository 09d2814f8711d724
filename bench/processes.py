"""The processes a benchmark starts (bench/load.py, bench/scaleout.py): each in a session of its
own, so that a signal reaches its own children too (a harvest's parsing workers, uvicorn's),
its output in a log file named after it, all stopped on exit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pgstac.cluster import free_port

BIN = Path(sys.executable).parent


class Children:
    """Named child processes, logged to `<logs>/<name>.log`."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.running[name] = process
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """`sig` to the process and its children; waits for it (10 s at most)."""
        process = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def stop_all(self) -> None:
        """SIGTERM to all at once, then SIGKILL to those still running 15 s later."""
        processes, self.running = list(self.running.values()), {}
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


def serve(children: Children, envs: dict[str, dict[str, str]], seconds: float) -> dict[str, str]:
    """`dinamis serve` processes, one per environment, each on a free port of 127.0.0.1,
    started together; their URLs once each is ready (`/readyz`) within `seconds` (generous:
    on a busy machine a process may be paused for minutes)."""
    urls = {}
    for name, env in envs.items():
        port = free_port()
        command = [str(BIN / "dinamis"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        children.start(name, command, env)
        urls[name] = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    for name, url in urls.items():
        while True:
            process = children.running[name]
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} ({url}): dinamis serve stopped (exit {process.returncode}), "
                    f"see {children.logs / name}.log"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} ({url}): not ready within {seconds:.0f} s")
            time.sleep(0.5)
    return urls
