"""A Celery app whose tasks run hone programs — the workflow hone exists for.

Workers run on the **gevent** pool (``celery -A tasks worker -P gevent``): every task is a
greenlet, and hone's calls wait through gevent's hub, so one worker process keeps many LM
calls in flight. Each task names the model it runs on; there is no global LM and no
``configure`` — two models in one worker are two ``hone.LM`` values.

Environment: ``HONE_CELERY_BROKER`` (a Redis URL, the broker and the result backend),
``HONE_LM_BASE_URL`` (an OpenAI-compatible server; ``hone sim`` in the tests),
``HONE_CELERY_VISIBILITY_S`` (seconds before Redis hands a task that a dead worker held to
another worker; default one hour).
"""

from __future__ import annotations

import json
import os
import pathlib
import logging
import threading
import time
from typing import Any

from celery import Celery, signals

import hone

BROKER = os.environ.get("HONE_CELERY_BROKER", "redis://127.0.0.1:6379/0")
VISIBILITY_S = int(os.environ.get("HONE_CELERY_VISIBILITY_S", "3600"))
# LM calls in flight at once per worker process, over all the jobs it runs.
JOB_CONCURRENCY = int(os.environ.get("HONE_CELERY_JOB_CONCURRENCY", "8"))

app = Celery("hone_example", broker=BROKER, backend=BROKER)
app.conf.update(
    # A task is acknowledged when it is done, and goes back to the queue if its worker dies:
    # an optimization loses no job to a killed worker.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_transport_options={
        "visibility_timeout": VISIBILITY_S,
        # Look for tasks of dead workers on every idle poll, not every tenth; a worker that
        # died while looking holds the lock on them for this long, not five minutes.
        "unacked_restore_throttle": 1,
        "unacked_restore_interval": 1,
        "unacked_mutex_expire": min(VISIBILITY_S, 300),
    },
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    broker_connection_retry_on_startup=True,
    # One broker connection per greenlet that acknowledges or publishes at once: the gevent
    # pool runs many tasks concurrently, and a bounded pool would fail their acks.
    broker_pool_limit=None,
)


@signals.worker_ready.connect
def _give_back_tasks_of_dead_workers(sender: Any = None, **_: Any) -> None:
    """kombu's Redis transport hands a dead worker's unacknowledged tasks to the living only
    from its event loop's timer, which the gevent pool does not run; this does it instead,
    every half visibility timeout (Redis's lock keeps it to one worker at a time)."""

    def sweep() -> None:
        while True:
            time.sleep(max(1.0, VISIBILITY_S / 2))
            try:
                with app.connection_for_write() as conn:
                    conn.default_channel.qos.restore_visible(num=1000, interval=1)
            except Exception:  # the broker is away: try again at the next sweep
                logging.getLogger(__name__).warning("could not look for tasks of dead workers", exc_info=True)

    threading.Thread(target=sweep, name="restore-unacked", daemon=True).start()


# --- the program: shared by the workers and the process that drives the optimization ---

TASK = pathlib.Path(__file__).resolve().parents[2] / "testdata" / "tasks" / "sentiment"


def load(split: str) -> list[hone.Example]:
    lines = (TASK / f"{split}.jsonl").read_text().splitlines()
    return [hone.Example(**json.loads(line)).with_inputs("review") for line in lines if line.strip()]


class Sentiment(hone.Module):
    """Classifies a review: one predictor, as a team would write it."""

    def __init__(self) -> None:
        super().__init__()
        self.classify = hone.Predict(
            hone.Signature("review -> sentiment: Literal['positive', 'negative']").with_instructions(
                "Classify the sentiment of the review as positive or negative."
            )
        )

    def forward(self, review: str) -> hone.Prediction:
        return self.classify(review=review)


def exact(example: hone.Example, pred: hone.Prediction, trace: Any = None) -> bool:
    return example.sentiment == pred.sentiment


def optimizer() -> hone.MIPROv2:
    """The optimization the example runs (the same in every process)."""
    return hone.MIPROv2(metric=exact, auto="light", seed=0)


# --- per worker process: one LM per model, one executor per model, made on first use ---

_lock = threading.RLock()
_lms: dict[str, hone.LM] = {}
_executors: dict[str, hone.Executor] = {}


def lm_for(model: str) -> hone.LM:
    """This process's LM for ``model`` (its connections are reused by every task)."""
    with _lock:
        if model not in _lms:
            _lms[model] = hone.LM(model, base_url=os.environ["HONE_LM_BASE_URL"], api_key_env=None,
                                  cache=False, temperature=0.0, max_tokens=64)
        return _lms[model]


def executor_for(model: str) -> hone.Executor:
    with _lock:
        if model not in _executors:
            _executors[model] = hone.Executor(Sentiment(), metric=exact, lm=lm_for(model), adapter="json",
                                              concurrency=JOB_CONCURRENCY)
        return _executors[model]


@app.task(name="hone_example.classify")
def classify(review: str, model: str) -> dict[str, Any]:
    """Runs the program on one review with the model the task names."""
    pred = Sentiment()(review=review, lm=lm_for(model), adapter="json")
    return {"sentiment": pred.sentiment, "usage": pred.get_lm_usage()}


@app.task(name="hone_example.execute_job")
def execute_job(job: dict[str, Any], model: str) -> dict[str, Any]:
    """Runs one optimizer job (a dict from ``Run.ask()``) and returns its result."""
    return executor_for(model).execute(job)
