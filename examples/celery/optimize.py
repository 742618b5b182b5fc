"""Drives an optimization whose jobs run as Celery tasks (``tasks.execute_job``) on the
workers, with ``run.ask()`` / ``run.tell()`` here; checkpoints the run after every step and
resumes from it when started again. Prints the best program's state as JSON.

A worker that dies mid-task loses nothing: the task is acknowledged only when done
(``acks_late``), Redis gives it to another worker after the visibility timeout, and a job
whose result is still missing after ``--job-timeout`` is sent again.

    HONE_CELERY_BROKER=redis://127.0.0.1:6379/0 HONE_LM_BASE_URL=http://127.0.0.1:8090/v1 \\
        python optimize.py --model sim-a --checkpoint run.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import tasks


class Jobs:
    """The run's jobs in flight as Celery tasks. A job whose result does not come within
    ``job_timeout`` (its worker died before Redis gave the task to another) is sent again —
    telling a job's result twice is harmless, the optimizer answers ``duplicate``."""

    def __init__(self, model: str, job_timeout: float, attempts: int) -> None:
        self.model, self.job_timeout, self.attempts = model, job_timeout, attempts
        self.in_flight: dict[str, tuple[dict, Any, float, int]] = {}

    def send(self, job: dict, attempt: int = 1) -> None:
        self.in_flight[job["id"]] = (job, tasks.execute_job.delay(job, self.model), time.monotonic(), attempt)

    def finished(self) -> list[dict]:
        """The results that have come in since the last call (waiting a moment when none has)."""
        while True:
            done = []
            for job_id, (job, task, sent, attempt) in list(self.in_flight.items()):
                if task.ready():
                    del self.in_flight[job_id]
                    done.append(task.get())        # raises if the task itself failed
                elif time.monotonic() - sent > self.job_timeout:
                    if attempt >= self.attempts:
                        raise TimeoutError(f"job {job_id} got no result after {attempt} attempts")
                    self.send(job, attempt + 1)
            if done or not self.in_flight:
                return done
            time.sleep(0.005)


def drive(model: str, checkpoint: str | None, job_timeout: float = 30, attempts: int = 5) -> dict:
    """Runs the optimization to its end: new jobs go out as soon as the optimizer hands them
    out, and each result is told as soon as it comes in (the run is saved after each)."""
    student = tasks.Sentiment()
    train, dev = tasks.load("train"), tasks.load("dev")
    jobs = Jobs(model, job_timeout, attempts)
    if checkpoint and os.path.exists(checkpoint):
        run = tasks.optimizer().resume(checkpoint, student, lm=tasks.lm_for(model))
        for job in run.pending():
            jobs.send(job)
    else:
        run = tasks.optimizer().start(student, trainset=train, valset=dev, lm=tasks.lm_for(model), adapter="json")
    while not run.is_done():
        for job in run.ask():
            jobs.send(job)
        if not jobs.in_flight:
            raise RuntimeError("the run is not done but hands out no job and waits for none")
        for result in jobs.finished():
            run.tell(result)
            if checkpoint:
                run.save(checkpoint)
    best = run.best()
    assert best is not None
    return best.dump_state()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sim-a")
    parser.add_argument("--checkpoint")
    parser.add_argument("--job-timeout", type=float, default=30,
                        help="seconds to wait for a job's result before sending the job again")
    args = parser.parse_args()
    json.dump(drive(args.model, args.checkpoint, args.job_timeout), sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
