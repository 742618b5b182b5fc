"""Fixtures: hone's simulated OpenAI-compatible server (``hone sim``) on free ports of
127.0.0.1 — one answering at once, one with 200 ms of latency — and LMs pointing at them.

The ``hone`` binary is ``$HONE_BIN`` or the workspace's ``target/{debug,release}/hone``
(built with ``cargo build -p hone-cli`` when neither exists)."""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import pytest

import hone

ROOT = pathlib.Path(__file__).resolve().parents[3]
SLOW_LATENCY_S = 0.2


def hone_bin() -> str:
    if os.environ.get("HONE_BIN"):
        return os.environ["HONE_BIN"]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    for profile in ("debug", "release"):
        path = target / profile / "hone"
        if path.exists():
            return str(path)
    subprocess.run(["cargo", "build", "-q", "-p", "hone-cli"], cwd=ROOT, check=True)
    return str(target / "debug" / "hone")


class Sim:
    """A running ``hone sim``: its base URL, and LMs that talk to it."""

    def __init__(self, latency_ms: int) -> None:
        self.proc = subprocess.Popen(
            [hone_bin(), "sim", "--port", "0", "--quiet", "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"hone sim did not start: {line!r}")
        self.base_url = line.removeprefix("listening on ")
        self.latency_s = latency_ms / 1000

    def lm(self, model: str = "sim", **kwargs) -> hone.LM:
        kwargs.setdefault("api_key", "test-key")
        kwargs.setdefault("cache", False)
        return hone.LM(model, base_url=self.base_url, **kwargs)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def sim():
    server = Sim(0)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slow_sim():
    server = Sim(int(SLOW_LATENCY_S * 1000))
    yield server
    server.stop()


@pytest.fixture()
def lm(sim):
    return sim.lm()


def run_python(code: str, *args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter (for gevent's patching, fork and signals)."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, env=full_env
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    """A ``redis-server`` of its own on a free port (skips when Debian's redis-server is not
    installed; ``scripts/test`` installs it)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/test installs it)")
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)
