"""Waiting for a call that runs on hone's runtime, in whatever way the caller's concurrency
model wants: a thread waits in ``select`` with the GIL released, a greenlet waits through
gevent's hub, an asyncio task through its event loop. Ctrl-C and task cancellation cancel
the call (its LM request is dropped)."""

from __future__ import annotations

import asyncio
import select
import sys
from typing import Any

from . import _hone


def _gevent_wait_read() -> Any:
    """gevent's ``wait_read`` when gevent has patched the standard library, else ``None``."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None:
        return None
    try:
        if not monkey.is_module_patched("select") and not monkey.is_module_patched("socket"):
            return None
        from gevent.socket import wait_read
    except Exception:  # pragma: no cover - a broken gevent install
        return None
    return wait_read


def wait(pending: _hone.Pending) -> Any:
    """Blocks the calling thread (or greenlet) until ``pending`` is done; returns its value."""
    if not pending.done():
        fd = pending.fd
        try:
            wait_read = _gevent_wait_read()
            if wait_read is not None:
                wait_read(fd)
            else:
                while not select.select([fd], [], [])[0]:
                    pass
        except BaseException:
            pending.cancel()
            raise
    return pending.result()


async def await_pending(pending: _hone.Pending) -> Any:
    """Awaits ``pending`` on the running event loop; cancelling the task cancels the call."""
    if pending.done():
        return pending.result()
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    fd = pending.fd

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, on_ready)
    try:
        await ready
    except BaseException:
        pending.cancel()
        raise
    finally:
        loop.remove_reader(fd)
    return pending.result()
