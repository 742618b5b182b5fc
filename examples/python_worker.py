#!/usr/bin/env python3
"""A minimal hone worker in Python, following docs/distributed.md.

It serves every run in the registry (`hone:runs`), takes jobs through the `workers` consumer
group, runs them with `run_job` (replace it with your own code, e.g. a Celery task), publishes
each result BEFORE acknowledging the job, takes over jobs of dead workers with XAUTOCLAIM,
and dead-letters messages it cannot read.

    pip install redis
    python3 examples/python_worker.py --redis redis://127.0.0.1:6379 --name py-1
"""

import argparse
import json
import time

import redis

PREFIX = "hone"
GROUP = "workers"
VERSION = 1


def run_job(job):
    """Runs one job (the protocol's `Job`: {"id": N, "spec": {...}}) and returns its output.

    Replace this with your program. An `evaluate` job asks for one outcome per example, in
    order: {"split", "index", "prediction", "score"} (or "error"); a `predict` job for
    {"kind": "predicted", "predictions": [...]}. Anything that fails as a whole returns
    {"kind": "failed", "error": "..."}.
    """
    spec = job["spec"]
    if spec["kind"] == "evaluate":
        outcomes = [
            {"split": ex["split"], "index": ex["index"], "error": "no program in this example worker"}
            for ex in spec["examples"]
        ]
        return {"kind": "evaluated", "outcomes": outcomes}, 0
    return {"kind": "failed", "error": "predict jobs are not implemented in this example worker"}, 0


def dead_letter(r, run, source, entry, reason, payload, name, job=None):
    letter = {"v": VERSION, "run": run, "kind": "malformed", "reason": reason,
              "source": source, "entry": entry, "by": name, "payload": payload}
    if job is not None:
        letter["job"] = job
    r.xadd(f"{PREFIX}:{run}:dead", {"msg": json.dumps(letter)}, maxlen=10000, approximate=True)


def handle(r, run, entry_id, fields, name):
    jobs_key = f"{PREFIX}:{run}:jobs"
    raw = fields.get(b"msg")
    try:
        if raw is None:
            raise ValueError("the entry has no `msg` field")
        msg = json.loads(raw)
        if msg.get("v") != VERSION:
            raise ValueError(f"message version {msg.get('v')!r} is not {VERSION}")
        if msg.get("run") != run:
            raise ValueError(f"the message is for run {msg.get('run')!r}, found on run {run!r}")
        job = msg["job"]
        job_id = int(job["id"])
    except (ValueError, KeyError, TypeError) as e:
        payload = raw.decode("utf-8", "replace") if raw is not None else None
        dead_letter(r, run, jobs_key, entry_id, str(e), payload, name)
        r.xack(jobs_key, GROUP, entry_id)
        r.xdel(jobs_key, entry_id)
        return
    try:
        output, lm_calls = run_job(job)
    except Exception as e:  # a failing job is a result, not a crash
        output, lm_calls = {"kind": "failed", "error": f"{type(e).__name__}: {e}"}, 0
    result = {"v": VERSION, "run": run, "job_entry": entry_id, "worker": name,
              "result": {"id": job_id, "output": output, "lm_calls": lm_calls}}
    if "epoch" in msg:
        result["epoch"] = msg["epoch"]
    # Publish first, then acknowledge: a crash in between re-runs the job (results are idempotent).
    r.xadd(f"{PREFIX}:{run}:results", {"msg": json.dumps(result)}, nomkstream=True)
    r.xack(jobs_key, GROUP, entry_id)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--name", default=f"py-{int(time.time())}")
    parser.add_argument("--visibility-ms", type=int, default=60000)
    args = parser.parse_args()
    r = redis.Redis.from_url(args.redis)
    last_reclaim = 0.0
    while True:
        runs = sorted(m.decode() for m in r.smembers(f"{PREFIX}:runs"))
        streams = {f"{PREFIX}:{run}:jobs": ">" for run in runs}
        if not streams:
            time.sleep(1)
            continue
        try:
            if time.time() - last_reclaim > args.visibility_ms / 3000:
                last_reclaim = time.time()
                for run in runs:
                    _, claimed, _ = r.xautoclaim(f"{PREFIX}:{run}:jobs", GROUP, args.name,
                                                 args.visibility_ms, "0-0", count=1)
                    for entry_id, fields in claimed:
                        handle(r, run, entry_id.decode(), fields, args.name)
            for key, entries in r.xreadgroup(GROUP, args.name, streams, count=1, block=1000) or []:
                run = key.decode().split(":")[1]
                for entry_id, fields in entries:
                    handle(r, run, entry_id.decode(), fields, args.name)
        except redis.exceptions.ResponseError as e:
            if "NOGROUP" not in str(e) and "UNBLOCKED" not in str(e):
                raise  # a run ended while we read it otherwise: read the registry again
        except redis.exceptions.ConnectionError:
            time.sleep(1)  # Redis is down: retry


if __name__ == "__main__":
    main()
