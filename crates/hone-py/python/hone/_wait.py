"""Waiting for a call that runs on hone's runtime, in whatever way the caller's concurrency
model wants: a thread waits in ``select`` with the GIL released, a greenlet waits through
gevent's hub, an asyncio task through its event loop. Ctrl-C and task cancellation cancel
the call (its LM request is dropped)."""

from __future__ import annotations

import asyncio
import os
import select
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

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
        try:
            _block(pending.fd)
        except BaseException:
            if pending.cancel():
                # A call that stops cleanly (an optimization writing its checkpoint): give it
                # the moment it needs; a second Ctrl-C abandons it.
                try:
                    _block(pending.fd, timeout=_GRACE_S)
                except BaseException:
                    pass
            raise
    return pending.result()


_GRACE_S = 30.0


def _block(fd: int, timeout: float | None = None) -> None:
    wait_read = _gevent_wait_read()
    if wait_read is not None:
        try:
            wait_read(fd, timeout=timeout)
        except Exception:
            if timeout is None:
                raise
        return
    select.select([fd], [], [], timeout)


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


_offload_lock = threading.Lock()
_offload: tuple[int, ThreadPoolExecutor] | None = None


def _offload_pool() -> ThreadPoolExecutor:
    """The threads that run a Python ``forward`` for ``acall`` (created on first use, and
    anew in a forked child). Their count (``HONE_ASYNC_THREADS``, default 256) bounds how many
    ``acall``s of a module without ``aforward`` run at once; hone's own calls need no thread."""
    global _offload
    pid = os.getpid()
    with _offload_lock:
        if _offload is None or _offload[0] != pid:
            size = int(os.environ.get("HONE_ASYNC_THREADS", "256"))
            _offload = (pid, ThreadPoolExecutor(max_workers=max(1, size), thread_name_prefix="hone-forward"))
        return _offload[1]


async def run_blocking(fn: Callable[[], Any]) -> Any:
    """Runs ``fn`` on one of hone's offload threads and awaits its result."""
    return await asyncio.get_running_loop().run_in_executor(_offload_pool(), fn)
