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

from celery.exceptions import TimeoutError

import tasks


def run_jobs(jobs: list[dict], model: str, job_timeout: float, attempts: int) -> list[dict]:
    """Each job as a Celery task; a job whose result does not come within ``job_timeout`` (its
    worker died before Redis gave the task to another) is sent again — telling a job's result
    twice is harmless, the optimizer answers ``duplicate``."""
    sent = {job["id"]: tasks.execute_job.delay(job, model) for job in jobs}
    results = []
    for job in jobs:
        for attempt in range(attempts):
            try:
                results.append(sent[job["id"]].get(timeout=job_timeout))
                break
            except TimeoutError:
                if attempt + 1 == attempts:
                    raise
                sent[job["id"]] = tasks.execute_job.delay(job, model)
    return results


def drive(model: str, checkpoint: str | None, job_timeout: float = 30, attempts: int = 5) -> dict:
    student = tasks.Sentiment()
    train, dev = tasks.load("train"), tasks.load("dev")
    if checkpoint and os.path.exists(checkpoint):
        run = tasks.optimizer().resume(checkpoint, student, lm=tasks.lm_for(model))
        jobs = run.pending()
    else:
        run = tasks.optimizer().start(student, trainset=train, valset=dev, lm=tasks.lm_for(model), adapter="json")
        jobs = []
    while not run.is_done():
        for result in run_jobs(jobs + run.ask(), model, job_timeout, attempts):
            run.tell(result)
        jobs = []
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
