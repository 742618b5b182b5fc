"""One optimization, run from Python (`compile`) and by the CLI (`hone optimize`), on the same
simulated server: the program, data, metric, optimizer settings and seed of
testdata/programs/sentiment.toml, with `[optimizer]` set by the arguments. Prints one JSON
line: the wall time, the LM calls and a digest of the best program's demos and instructions,
so the two sides can be compared run for run. Give each side a fresh simulator: its sampled
answers (instruction proposals, sent without a seed) depend on how many identical requests it
has seen.

    python bench/python/optimize.py --side python --base-url URL --kind mipro_v2
    python bench/python/optimize.py --side cli --hone target/release/hone --base-url URL --kind mipro_v2
    python bench/python/optimize.py --side celery --base-url URL --kind mipro_v2

`--side celery` drives the optimization with `run.ask()`/`run.tell()` from this process while
its jobs run as Celery tasks (examples/celery) on two worker processes on the gevent pool, a
Redis broker of its own on a free port, each worker with half the LM concurrency.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
TASK = ROOT / "testdata" / "tasks" / "sentiment"
MODEL = "sim-1"
INSTRUCTIONS = "Classify the sentiment of the review as positive or negative."
SETTINGS = {
    "mipro_v2": {"auto": "light", "seed": 0},
    "random_search": {"num_candidate_programs": 4, "max_bootstrapped_demos": 2, "max_labeled_demos": 3, "seed": 0},
}


def digest(predictor_state: dict) -> str:
    key = {"demos": predictor_state["demos"], "instructions": predictor_state["signature"]["instructions"]}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def toml_value(v) -> str:
    return json.dumps(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


def run_cli(args) -> dict:
    with tempfile.TemporaryDirectory() as work:
        program = pathlib.Path(work) / "program.toml"
        options = "\n".join(f"{k} = {toml_value(v)}" for k, v in SETTINGS[args.kind].items())
        program.write_text(f"""
[lm.task]
model = "{MODEL}"
temperature = 0.0
max_tokens = 64
max_in_flight = {args.concurrency}
cache = false

[program]
adapter = "json"

[[program.stages]]
name = "classify"
module = "predict"
signature = "review -> sentiment: Literal['positive', 'negative']"
instructions = "{INSTRUCTIONS}"

[metric]
kind = "exact_match"
field = "sentiment"

[dataset]
train = "{TASK}/train.jsonl"
dev = "{TASK}/dev.jsonl"

[optimizer]
kind = "{args.kind}"
concurrency = {args.concurrency}
{options}
""")
        out = pathlib.Path(work) / "run"
        start = time.perf_counter()
        subprocess.run([args.hone, "-q", "optimize", str(program), "--out", str(out), "--base-url", args.base_url],
                       check=True, env={"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": "bench"})
        wall = time.perf_counter() - start
        best = json.loads((out / "program.json").read_text())["classify"]
        record = json.loads((out / "run.json").read_text())
        calls = (record.get("usage") or {}).get("lm_calls") or (record.get("usage") or {}).get("calls")
        return {"wall_s": wall, "lm_calls": calls, "best": digest(best)}


def run_python(args) -> dict:
    started = time.perf_counter()
    import hone

    def load(split):
        lines = (TASK / f"{split}.jsonl").read_text().splitlines()
        return [hone.Example(**json.loads(l)).with_inputs("review") for l in lines if l.strip()]

    class Sentiment(hone.Module):
        def __init__(self):
            super().__init__()
            self.classify = hone.Predict(hone.Signature(
                "review -> sentiment: Literal['positive', 'negative']").with_instructions(INSTRUCTIONS))

        def forward(self, review):
            return self.classify(review=review)

    def exact(example, pred, trace=None):
        return example.sentiment == pred.sentiment

    lm = hone.LM(MODEL, base_url=args.base_url, api_key="bench", cache=False, temperature=0.0, max_tokens=64,
                 max_in_flight=args.concurrency)
    optimizer = {"mipro_v2": hone.MIPROv2, "random_search": hone.BootstrapFewShotWithRandomSearch}[args.kind]
    train, dev = load("train"), load("dev")
    start = time.perf_counter()
    best = optimizer(metric=exact, **SETTINGS[args.kind]).compile(
        Sentiment(), trainset=train, valset=dev, lm=lm, adapter="json", concurrency=args.concurrency)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "wall_with_import_s": time.perf_counter() - started,
            "lm_calls": lm.usage()["calls"], "best": digest(best.dump_state()["classify"])}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_celery(args) -> dict:
    """The optimization driven here, its jobs Celery tasks on two gevent workers."""
    example = ROOT / "examples" / "celery"
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    broker = f"redis://127.0.0.1:{port}/0"
    env = dict(os.environ, HONE_CELERY_BROKER=broker, HONE_LM_BASE_URL=args.base_url,
               HONE_CELERY_JOB_CONCURRENCY=str(max(1, args.concurrency // 2)), PYTHONPATH=str(example))
    os.environ.update({k: env[k] for k in ("HONE_CELERY_BROKER", "HONE_LM_BASE_URL")})
    workers = []
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        workers = [
            subprocess.Popen([sys.executable, "-m", "celery", "-A", "tasks", "worker", "-P", "gevent", "-c", "32",
                              "-n", f"bench{i}@%h", "--without-mingle", "--without-gossip", "--without-heartbeat",
                              "-l", "ERROR"], cwd=example, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for i in range(2)
        ]
        sys.path.insert(0, str(example))
        import hone
        import optimize as celery_driver
        import tasks

        deadline = time.time() + 60
        while time.time() < deadline and len(tasks.app.control.ping(timeout=1.0) or []) < 2:
            time.sleep(0.2)
        # The workers have built their LMs and executors before the clock starts.
        for result in [tasks.classify.delay("warm up", MODEL) for _ in range(8)]:
            result.get(timeout=60)
        optimizer = {"mipro_v2": hone.MIPROv2, "random_search": hone.BootstrapFewShotWithRandomSearch}[args.kind]
        lm = tasks.lm_for(MODEL)
        start = time.perf_counter()
        run = optimizer(metric=tasks.exact, **SETTINGS[args.kind]).start(
            tasks.Sentiment(), trainset=tasks.load("train"), valset=tasks.load("dev"), lm=lm, adapter="json")
        calls = 0
        jobs = celery_driver.Jobs(MODEL, job_timeout=120, attempts=2)
        while not run.is_done():
            for job in run.ask():
                jobs.send(job)
            for result in jobs.finished():
                calls += int(result.get("lm_calls", 0))
                run.tell(result)
        wall = time.perf_counter() - start
        best = run.best()
        assert best is not None
        return {"wall_s": wall, "lm_calls": calls, "best": digest(best.dump_state()["classify"])}
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(15)
            except subprocess.TimeoutExpired:
                w.kill()
        redis.terminate()
        redis.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=["python", "cli", "celery"], required=True)
    parser.add_argument("--kind", choices=sorted(SETTINGS), default="mipro_v2")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--hone", default=str(ROOT / "target" / "release" / "hone"))
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    out = {"cli": run_cli, "python": run_python, "celery": run_celery}[args.side](args)
    print(json.dumps({"kind": args.kind, "concurrency": args.concurrency, **out}))


if __name__ == "__main__":
    main()
