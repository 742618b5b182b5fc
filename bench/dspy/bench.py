"""The DSPy side of bench/run, against the same simulated server as the hone side.

Each command prints one JSON object on stdout, with the same fields as `hone-bench`'s
commands of the same name:

  overhead  --base-url URL [--calls N] [--repeats R]
  evaluate  --base-url URL --dev FILE [--concurrency C]
  optimize  --base-url URL --data DIR --optimizer {random-search,mipro,gepa} [--concurrency C]

LM calls are counted by the server (`/stats`), exactly as on the hone side.
"""

import argparse
import json
import logging
import os
import statistics
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DSPY_CACHEDIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "hone-bench-dspy-cache"))

import dspy  # noqa: E402
import httpx  # noqa: E402

logging.disable(logging.WARNING)

SIGNATURE = "question -> answer: int"


def lm(base_url):
    return dspy.LM("openai/sim-1", api_base=base_url, api_key="unused", cache=False, num_retries=0)


def read_split(path):
    with open(path) as f:
        return [dspy.Example(**json.loads(line)).with_inputs("question") for line in f if line.strip()]


def server_calls(base_url):
    root = base_url.rstrip("/").removesuffix("/v1")
    stats = httpx.get(f"{root}/stats").json()
    return stats["requests_by_path"].get("/v1/chat/completions", 0)


def exact_match(gold, pred, trace=None):
    return float(getattr(pred, "answer", None) == gold.answer)


def overhead(args):
    predict = dspy.Predict(SIGNATURE)
    adapter = dspy.ChatAdapter()
    questions = [f"What is {i} + {i + 1}?" for i in range(args.calls)]
    bodies = [
        {"model": "sim-1", "messages": adapter.format(predict.signature, demos=[], inputs={"question": q})}
        for q in questions
    ]
    url = args.base_url.rstrip("/") + "/chat/completions"
    client = httpx.Client()
    with dspy.context(lm=lm(args.base_url), adapter=adapter):

        def run_raw():
            started = time.perf_counter()
            for body in bodies:
                value = client.post(url, json=body).json()
                assert "choices" in value, value
            return (time.perf_counter() - started) * 1e6 / args.calls

        def run_predict():
            started = time.perf_counter()
            for q in questions:
                predict(question=q)
            return (time.perf_counter() - started) * 1e6 / args.calls

        run_raw()
        run_predict()
        raw, framework = [], []
        for _ in range(max(1, args.repeats)):
            raw.append(run_raw())
            framework.append(run_predict())
    raw, framework = statistics.median(raw), statistics.median(framework)
    print(json.dumps({"calls": args.calls, "repeats": args.repeats, "raw_us": raw,
                      "framework_us": framework, "overhead_us": framework - raw}))


def memory(args):
    predict = dspy.Predict(SIGNATURE)
    with dspy.context(lm=lm(args.base_url), adapter=dspy.ChatAdapter()):
        for i in range(args.calls):
            predict(question=f"What is {i} + {i + 1}?")
    print(json.dumps({"calls": args.calls}))


def evaluate(args):
    dev = read_split(args.dev)
    before = server_calls(args.base_url)
    with dspy.context(lm=lm(args.base_url)):
        evaluator = dspy.Evaluate(devset=dev, metric=exact_match, num_threads=args.concurrency,
                                  display_progress=False, display_table=False)
        started = time.perf_counter()
        result = evaluator(dspy.Predict(SIGNATURE))
        wall = time.perf_counter() - started
    calls = server_calls(args.base_url) - before
    print(json.dumps({"examples": len(dev), "concurrency": args.concurrency, "wall_s": wall,
                      "lm_calls": calls, "score": result.score / 100.0, "errors": 0}))


def feedback_metric(gold, pred, trace=None, pred_name=None, pred_trace=None):
    got = getattr(pred, "answer", None)
    ok = got == gold.answer
    return dspy.Prediction(score=float(ok), feedback="Correct." if ok else f"expected {gold.answer}, got {got}")


def optimize(args):
    train = read_split(os.path.join(args.data, "train.jsonl"))
    val = read_split(os.path.join(args.data, "val.jsonl"))
    dev = read_split(os.path.join(args.data, "dev.jsonl"))
    task_lm = lm(args.base_url)
    program = dspy.Predict(SIGNATURE)
    with dspy.context(lm=task_lm):
        before = server_calls(args.base_url)
        started = time.perf_counter()
        if args.optimizer == "random-search":
            optimizer = dspy.BootstrapFewShotWithRandomSearch(
                metric=exact_match, max_bootstrapped_demos=4, max_labeled_demos=4,
                num_candidate_programs=args.candidates, num_threads=args.concurrency)
            best = optimizer.compile(program, trainset=train, valset=val)
        elif args.optimizer == "mipro":
            optimizer = dspy.MIPROv2(metric=exact_match, auto="light", num_threads=args.concurrency,
                                     prompt_model=task_lm, task_model=task_lm, seed=args.seed,
                                     verbose=False)
            best = optimizer.compile(program, trainset=train, valset=val)
        elif args.optimizer == "gepa":
            optimizer = dspy.GEPA(metric=feedback_metric, auto="light", reflection_lm=task_lm,
                                  num_threads=args.concurrency, seed=args.seed)
            best = optimizer.compile(program, trainset=train, valset=val)
        else:
            raise SystemExit(f"unknown optimizer {args.optimizer}")
        wall = time.perf_counter() - started
        calls = server_calls(args.base_url) - before
        evaluator = dspy.Evaluate(devset=dev, metric=exact_match, num_threads=args.concurrency,
                                  display_progress=False, display_table=False)
        dev_score = evaluator(best).score / 100.0
    print(json.dumps({"optimizer": args.optimizer, "concurrency": args.concurrency, "wall_s": wall,
                      "lm_calls": calls, "dev_score": dev_score}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("overhead")
    p.add_argument("--base-url", required=True)
    p.add_argument("--calls", type=int, default=500)
    p.add_argument("--repeats", type=int, default=5)
    p = sub.add_parser("memory")
    p.add_argument("--base-url", required=True)
    p.add_argument("--calls", type=int, default=300)
    p = sub.add_parser("evaluate")
    p.add_argument("--base-url", required=True)
    p.add_argument("--dev", required=True)
    p.add_argument("--concurrency", type=int, default=8)
    p = sub.add_parser("optimize")
    p.add_argument("--base-url", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--optimizer", required=True, choices=["random-search", "mipro", "gepa"])
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--candidates", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    {"overhead": overhead, "memory": memory, "evaluate": evaluate, "optimize": optimize}[args.command](args)


if __name__ == "__main__":
    main()
