#!/usr/bin/env python3
"""A hone worker in Python, following docs/distributed.md: it runs the jobs of a Redis
coordinator (`hone optimize --redis`) with hone's Python package.

It serves every run in the registry (`hone:runs`), takes jobs through the `workers` consumer
group, runs them with `run_job` — a `hone.Executor` over your program and metric — publishes
each result BEFORE acknowledging the job, takes over jobs of dead workers with XAUTOCLAIM,
and dead-letters messages it cannot read.

    pip install redis ./crates/hone-py
    python3 examples/python_worker.py --redis redis://127.0.0.1:6379 --name py-1 \
        --program my_program:Program --metric my_program:metric \
        --model gpt-4o-mini --base-url http://127.0.0.1:8090/v1

`--program MODULE:NAME` is a `hone.Module` class (or a function returning one) whose
predictors have the names of the coordinator's program (its stages), and `--metric
MODULE:NAME` the metric `(example, pred, trace=None)`; the coordinator's jobs carry each
candidate's state, which the executor loads onto a copy of the program.
"""

import argparse
import importlib
import json
import time

import redis

PREFIX = "hone"
GROUP = "workers"
VERSION = 1


EXECUTOR = None  # the hone.Executor `main` makes from the command line


def load(spec):
    """`module:name` → the object."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def make_executor(args):
    import hone  # only this worker's default job runner needs hone

    program = load(args.program)
    program = program() if isinstance(program, type) or not isinstance(program, hone.Module) else program
    lm = hone.LM(args.model, base_url=args.base_url, api_key_env=args.api_key_env)
    return hone.Executor(program, metric=load(args.metric), lm=lm, adapter=args.adapter,
                         concurrency=args.concurrency)


def run_job(job):
    """Runs one job (the protocol's `Job`: {"id": N, "spec": {...}}) and returns its output and
    the LM calls it made: an `evaluate` job's outcomes per example, a `predict` job's
    predictions, or {"kind": "failed", "error": "..."}."""
    if EXECUTOR is None:
        return {"kind": "failed", "error": "this worker has no program: start it with --program and --metric"}, 0
    result = EXECUTOR.execute(job)
    return result["output"], result.get("lm_calls", 0)


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
    parser.add_argument("--program", help="MODULE:NAME of the hone.Module the jobs run")
    parser.add_argument("--metric", help="MODULE:NAME of the metric (example, pred, trace=None)")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--base-url", default=None, help="the LM server (default OPENAI_BASE_URL, else OpenAI)")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY")
    parser.add_argument("--adapter", default="chat", choices=["chat", "json", "xml"])
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    global EXECUTOR
    if args.program and args.metric:
        EXECUTOR = make_executor(args)
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
