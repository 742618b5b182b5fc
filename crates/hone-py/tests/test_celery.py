"""The Celery workflow end to end (examples/celery): Redis as broker, two Celery worker
processes on the gevent pool, tasks that each run the program with the model they name, and
an optimization whose jobs run as Celery tasks — equal to the in-process ``compile`` with the
same seed, even when a worker is killed mid-run (acks-late re-delivery)."""

from __future__ import annotations

import importlib
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, Sim, free_port

EXAMPLE = ROOT / "examples" / "celery"
pytest.importorskip("celery")
pytest.importorskip("gevent")
if shutil.which("redis-server") is None:
    pytest.skip("redis-server is not installed (scripts/test installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def lm_server():
    server = Sim(40)   # some latency, so that jobs are in flight when a worker dies
    yield server
    server.stop()


class Workers:
    def __init__(self, env: dict[str, str], logs: pathlib.Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        log = open(self.logs / f"{name}.log", "a")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tasks", "worker", "-P", "gevent", "-c", "32",
             "-n", f"{name}@%h", "--without-mingle", "--without-gossip", "--without-heartbeat",
             "-l", "WARNING"],
            cwd=EXAMPLE, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def log(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logs.glob("*.log")))

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def celery_env(redis_url, lm_server, tmp_path_factory):
    env = dict(os.environ, HONE_CELERY_BROKER=redis_url, HONE_LM_BASE_URL=lm_server.base_url,
               HONE_CELERY_VISIBILITY_S="3", PYTHONPATH=str(EXAMPLE))
    old = {k: os.environ.get(k) for k in ("HONE_CELERY_BROKER", "HONE_LM_BASE_URL", "HONE_CELERY_VISIBILITY_S")}
    os.environ.update({k: env[k] for k in old})
    sys.path.insert(0, str(EXAMPLE))
    for name in ("tasks", "optimize"):
        sys.modules.pop(name, None)
    tasks = importlib.import_module("tasks")
    optimize = importlib.import_module("optimize")
    workers = Workers(env, tmp_path_factory.mktemp("celery-logs"))
    workers.start("w1")
    workers.start("w2")
    # Both workers answer before the tests go on.
    deadline = time.time() + 60
    while time.time() < deadline and len(tasks.app.control.ping(timeout=1.0) or []) < 2:
        time.sleep(0.2)
    yield tasks, optimize, workers
    workers.stop()
    sys.path.remove(str(EXAMPLE))
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_tasks_run_the_model_they_name(celery_env):
    tasks, _, _ = celery_env
    reviews = [ex.review for ex in tasks.load("dev")[:8]]
    sent = [(model, tasks.classify.delay(review, model)) for review in reviews for model in ("sim-a", "sim-b")]
    for model, result in sent:
        out = result.get(timeout=60)
        assert out["sentiment"] in ("positive", "negative")
        assert set(out["usage"]) == {model}, "a task used an LM it did not name"


def in_process(tasks) -> dict:
    return tasks.optimizer().compile(tasks.Sentiment(), trainset=tasks.load("train"), valset=tasks.load("dev"),
                                     lm=tasks.lm_for("sim-a"), adapter="json").dump_state()


def test_optimization_over_celery_equals_compile(celery_env):
    tasks, optimize, _ = celery_env
    assert optimize.drive("sim-a", None) == in_process(tasks)


def test_a_worker_killed_mid_run_changes_nothing(celery_env, tmp_path):
    import json

    tasks, _, workers = celery_env
    checkpoint = tmp_path / "run.json"
    driver = subprocess.Popen([sys.executable, str(EXAMPLE / "optimize.py"), "--model", "sim-a",
                               "--checkpoint", str(checkpoint), "--job-timeout", "10"],
                              cwd=EXAMPLE, env=workers.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    deadline = time.time() + 60
    while not checkpoint.exists() and time.time() < deadline:   # a step done, the next in flight
        time.sleep(0.02)
    workers.kill("w1")
    out, err = driver.communicate(timeout=180)
    assert driver.returncode == 0, err[-3000:] + workers.log()
    assert json.loads(out) == in_process(tasks)
    workers.start("w1")
