"""Handing requests to the Airbus connector's jobs (`ordering:submit`, `ordering:poll`);
a queueing lock keeps one job per request."""

from __future__ import annotations

import contextlib
from typing import Any

import procrastinate


async def defer_submit(queue: Any, request_id: str) -> None:
    if queue is None:
        return
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
        await queue.configure_task(
            "ordering:submit", queueing_lock=f"submit-{request_id}"
        ).defer_async(request_id=request_id)


async def defer_poll(queue: Any, request_id: str, seconds: float) -> None:
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
        await queue.configure_task(
            "ordering:poll",
            queueing_lock=f"poll-{request_id}",
            schedule_in={"seconds": int(seconds)},
        ).defer_async(request_id=request_id)
