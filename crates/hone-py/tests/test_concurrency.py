"""asyncio, threads, gevent and fork: hone's calls cooperate with each.

Wall times here are loose sanity bounds that tell "concurrent" from "serial" (64 calls at
200 ms take 12.8 s one after another); the benchmark in bench/ measures the real numbers."""

from __future__ import annotations

import asyncio
import os
import socket
import textwrap
import threading
import time

import pytest

import hone
from conftest import run_python

N = 64
# Far below the 64 latencies a serial run takes, far above what a concurrent one needs.
CONCURRENT_BOUND = 8


def test_asyncio_64_tasks_in_about_one_latency(slow_sim):
    lm = slow_sim.lm()
    program = hone.Predict("question -> answer")

    async def main():
        threads_before = threading.active_count()
        start = time.perf_counter()
        results = await asyncio.gather(*(program.acall(question=f"What is {i} + 1?", lm=lm) for i in range(N)))
        return time.perf_counter() - start, results, threading.active_count() - threads_before

    wall, results, new_threads = asyncio.run(main())
    assert len(results) == N and all(r.answer for r in results)
    assert wall < CONCURRENT_BOUND * slow_sim.latency_s, f"64 calls took {wall:.2f} s"
    # No thread per call: at most hone's runtime workers appear.
    assert new_threads < 16


def test_acall_works_from_any_event_loop_and_task(sim):
    lm = sim.lm()
    program = hone.ChainOfThought("question -> answer")

    async def one():
        return (await program.acall(question="What is 1 + 1?", lm=lm)).answer

    # Several loops one after another, and a loop on another thread.
    assert asyncio.run(one()) and asyncio.run(one())
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("x", asyncio.run(one())))
    t.start()
    t.join(30)
    assert out["x"]


def test_custom_module_acall_runs_forward_off_the_loop(slow_sim):
    lm = slow_sim.lm()

    class Twice(hone.Module):
        def __init__(self):
            super().__init__()
            self.a = hone.Predict("question -> answer")

        def forward(self, question):
            self.a(question=question)
            return self.a(question=question + "?")

    program = Twice()

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick = asyncio.ensure_future(ticker())
        start = time.perf_counter()
        await asyncio.gather(*(program.acall(question=f"q{i}", lm=lm) for i in range(N)))
        wall = time.perf_counter() - start
        tick.cancel()
        return wall, ticks

    wall, ticks = asyncio.run(main())
    assert wall < CONCURRENT_BOUND * 2 * slow_sim.latency_s, f"64 two-step calls took {wall:.2f} s"
    assert ticks > 5, "the event loop was blocked"


def test_async_aforward_is_used():
    from helpers import Recorder

    class Async(hone.Module):
        def __init__(self):
            super().__init__()
            self.a = hone.Predict("question -> answer")

        def forward(self, question):
            raise AssertionError("acall must use aforward")

        async def aforward(self, question):
            return await self.a.acall(question=question)

    out = asyncio.run(Async().acall(question="q", lm=hone.LM(client=Recorder("af"))))
    assert out.answer == "af"


class Silent:
    """A TCP server that accepts one HTTP request and never answers; it notes when the
    client closes the connection (the request was dropped)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.got_request = threading.Event()
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.recv(65536)
        self.got_request.set()
        while conn.recv(65536):
            pass
        self.closed.set()

    def lm(self) -> hone.LM:
        return hone.LM("silent", base_url=f"http://127.0.0.1:{self.port}/v1", api_key="k",
                       cache=False, num_retries=0, timeout=60)


def test_cancelling_the_task_cancels_the_lm_request():
    server = Silent()
    program = hone.Predict("question -> answer")

    async def main():
        task = asyncio.ensure_future(program.acall(question="q", lm=server.lm()))
        assert await asyncio.get_running_loop().run_in_executor(None, server.got_request.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert server.closed.wait(5), "the HTTP request went on after its task was cancelled"


def test_threads_share_one_program_and_release_the_gil(slow_sim):
    lm = slow_sim.lm()
    program = hone.ChainOfThought("question -> answer")
    results = [None] * N
    spins = 0
    done = threading.Event()

    def spin():
        nonlocal spins
        while not done.is_set():
            spins += 1

    def call(i):
        results[i] = program(question=f"What is {i} + 2?", lm=lm)

    spinner = threading.Thread(target=spin)
    spinner.start()
    threads = [threading.Thread(target=call, args=(i,)) for i in range(N)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    wall = time.perf_counter() - start
    done.set()
    spinner.join()
    assert all(r is not None and r.answer for r in results)
    assert wall < CONCURRENT_BOUND * slow_sim.latency_s, f"64 threads took {wall:.2f} s"
    assert spins > 10_000, "Python threads did not run while hone waited"


GEVENT = """
from gevent import monkey
monkey.patch_all()
import sys, time, gevent, hone
lm = hone.LM("sim", base_url=sys.argv[1], api_key="k", cache=False)
program = hone.ChainOfThought("question -> answer")
ticks = 0
def ticker():
    global ticks
    while True:
        gevent.sleep(0.01)
        ticks += 1
tick = gevent.spawn(ticker)
start = time.perf_counter()
jobs = [gevent.spawn(lambda i=i: program(question=f"What is {i} + 3?", lm=lm)) for i in range(64)]
gevent.joinall(jobs, raise_error=True)
wall = time.perf_counter() - start
tick.kill()
assert all(j.value.answer for j in jobs)
print(f"{wall:.3f} {ticks}")
"""


def test_gevent_64_greenlets_in_about_one_latency(slow_sim):
    pytest.importorskip("gevent")
    proc = run_python(GEVENT, slow_sim.base_url)
    assert proc.returncode == 0, proc.stderr
    wall, ticks = proc.stdout.split()
    assert float(wall) < CONCURRENT_BOUND * slow_sim.latency_s, f"64 greenlets took {wall} s"
    # The hub kept running other greenlets while the calls waited.
    assert int(ticks) >= 3


FORK = """
import os, sys, multiprocessing as mp, hone
lm = hone.LM("sim", base_url=sys.argv[1], api_key="k", cache=False)
program = hone.ChainOfThought("question -> answer")
assert program(question="What is 1 + 1?", lm=lm).answer        # the parent's runtime is running
pid = os.fork()
if pid == 0:
    ok = bool(program(question="What is 2 + 2?", lm=lm).answer)
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status

def work(i):
    return program(question=f"What is {i} + 5?", lm=lm).answer

with mp.get_context("fork").Pool(2) as pool:
    answers = pool.map(work, range(6))
assert all(answers), answers
assert program(question="What is 3 + 3?", lm=lm).answer          # and the parent still works
print("ok")
"""


def test_fork_child_processes_rebuild_the_runtime(sim):
    proc = run_python(FORK, sim.base_url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


CTRL_C = """
import sys, time, hone
lm = hone.LM("sim", base_url=sys.argv[1], api_key="k", cache=False)
print("ready", flush=True)
try:
    hone.Predict("question -> answer")(question="q", lm=lm)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(0)
sys.exit(4)
"""


def test_ctrl_c_stops_a_blocking_call_promptly():
    import signal
    import subprocess
    import sys

    server = Silent()
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C, f"http://127.0.0.1:{server.port}/v1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    assert server.got_request.wait(10)
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "interrupted" in out
    assert time.perf_counter() - start < 5
    assert server.closed.wait(5)
