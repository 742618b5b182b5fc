"""The real-model section of bench/run: hone and DSPy against the same llama-server, on the
shipped orders task (testdata/programs/orders.toml and orders-mipro.toml: the program, the LM
settings and the optimizer parameters are read from those files, so both sides run the same
work). Each command prints one JSON line.

  optimize --side hone --program FILE --hone BIN --base-url URL --model M
  optimize --side dspy --adapter {json,chat} --program FILE --base-url URL --model M
  throughput --hone BIN --program FILE --base-url URL --model M --concurrency C --slots S

`optimize` times what `hone optimize` does — score the baseline on dev, search, score the best
on dev — and then, untimed, scores the baseline and the best on the held-out test split. It
reports LM calls (the search's and in all), answers that failed to parse, and the scores.
DSPy's side counts its LM calls with a callback and its parse failures by the exceptions its
predictor raised; its JSONAdapter sends structured outputs because the server is declared to
DSPy as a provider that supports response schemas (`dspy.lm15.register_provider`), and its
ChatAdapter falls back to the JSONAdapter on a parse failure, as DSPy does.

`throughput` runs `hone eval` of the baseline program over the dev split at one concurrency
against a server with `S` slots and reports the wall time, the calls and the tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def read_program(path: pathlib.Path) -> dict:
    program = tomllib.loads(path.read_text())
    base = path.parent
    data = program["dataset"]
    program["_train"] = (base / data["train"]).resolve()
    program["_dev"] = (base / data["dev"]).resolve()
    program["_test"] = program["_dev"].with_name("test.jsonl")
    return program


def hone_optimize(args) -> dict:
    program = read_program(args.program)
    with tempfile.TemporaryDirectory() as work:
        run = pathlib.Path(work) / "run"
        started = time.perf_counter()
        subprocess.run([args.hone, "optimize", str(args.program), "--out", str(run), "--quiet",
                        "--no-cache", "--lm", f"task={args.model}", "--base-url", args.base_url],
                       check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        record = json.loads((run / "run.json").read_text())

        def test_score(state: str) -> dict:
            out = subprocess.run([args.hone, "eval", str(args.program), "--state", str(run / state),
                                  "--dataset", str(program["_test"]), "--split", "all", "--json", "--no-cache",
                                  "--lm", f"task={args.model}", "--base-url", args.base_url],
                                 check=True, capture_output=True, text=True)
            return json.loads(out.stdout.strip().splitlines()[-1])

        base_test, best_test = test_score("baseline.json"), test_score("program.json")
    b, w = record["baseline"], record["best"]
    return {
        "side": "hone", "adapter": program["program"].get("adapter", "chat"),
        "optimizer": record["optimizer"]["kind"], "wall_s": wall,
        "search_lm_calls": record["lm_calls"], "lm_calls": record["usage"]["calls"],
        "parse_failures": record["failures"] + b["errors"] + w["errors"],
        "dev_before": b["mean"], "dev_after": w["mean"], "dev_examples": w["examples"],
        "test_before": base_test["mean"], "test_after": best_test["mean"], "test_examples": best_test["examples"],
        "test_parse_failures": base_test["errors"] + best_test["errors"],
    }


def dspy_optimize(args) -> dict:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("DSPY_CACHEDIR", os.path.join(tempfile.gettempdir(), "hone-bench-real-dspy-cache"))
    import logging

    import dspy
    from dspy.evaluate.metrics import normalize_text
    from dspy.lm15 import AccessPolicy, ModelSupport, ProviderDefinition, register_provider
    from dspy.utils.callback import BaseCallback

    logging.disable(logging.WARNING)
    program = read_program(args.program)
    lm_spec = program["lm"]["task"]
    stage = program["program"]["stages"][0]
    optimizer = dict(program["optimizer"])
    kind = optimizer.pop("kind")
    concurrency = optimizer.pop("concurrency", 8)
    optimizer.pop("proposal_adapter", None)
    output = stage["signature"].split("->")[1].strip().split(":")[0].strip()
    input_name = stage["signature"].split("->")[0].strip()

    # llama-server declared to DSPy as an OpenAI-compatible local server whose models follow
    # response schemas (the vLLM preset's wire; the LM's api_base is the real address).
    register_provider(ProviderDefinition.chat(AccessPolicy(provider="llamacpp", base_url="http://localhost:8000/v1"),
                                              compat="vllm"),
                      supports=ModelSupport(response_schema=True))
    lm = dspy.LM(f"llamacpp/{args.model}", api_base=args.base_url, api_key="unused", cache=False,
                 temperature=lm_spec.get("temperature", 0.0), max_tokens=lm_spec.get("max_tokens"), num_retries=3)

    class Counter(BaseCallback):
        def __init__(self):
            self.lock = threading.Lock()
            self.calls = 0

        def on_lm_start(self, call_id, instance, inputs):
            with self.lock:
                self.calls += 1

    counter = Counter()
    failures = {"n": 0}
    lock = threading.Lock()

    class Extract(dspy.Module):
        def __init__(self):
            super().__init__()
            self.predict = dspy.Predict(dspy.Signature(stage["signature"], stage["instructions"]))

        def forward(self, **inputs):
            try:
                return self.predict(**inputs)
            except Exception:
                with lock:
                    failures["n"] += 1
                raise

    def read(path):
        with open(path) as f:
            return [dspy.Example(**json.loads(line)).with_inputs(input_name) for line in f if line.strip()]

    train, dev, test = read(program["_train"]), read(program["_dev"]), read(program["_test"])

    def metric(gold, pred, trace=None):
        return float(normalize_text(str(getattr(pred, output, "") or "")) == normalize_text(str(gold[output])))

    def evaluate(module, examples):
        return dspy.Evaluate(devset=examples, metric=metric, num_threads=concurrency, display_progress=False,
                             display_table=False, failure_score=0.0)(module).score / 100.0

    adapter = dspy.JSONAdapter() if args.adapter == "json" else dspy.ChatAdapter()
    baseline = Extract()
    with dspy.context(lm=lm, adapter=adapter, callbacks=[counter]):
        started = time.perf_counter()
        dev_before = evaluate(baseline, dev)
        before_search, failures_before = counter.calls, failures["n"]
        if kind in ("random_search", "bootstrap_few_shot_with_random_search"):
            best = dspy.BootstrapFewShotWithRandomSearch(
                metric=metric, max_bootstrapped_demos=optimizer["max_bootstrapped_demos"],
                max_labeled_demos=optimizer["max_labeled_demos"],
                num_candidate_programs=optimizer["num_candidate_programs"], num_threads=concurrency,
            ).compile(baseline, trainset=train, valset=dev)
        elif kind == "mipro_v2":
            # hone's MIPROv2 keys are DSPy's names: those of the constructor go there, the rest
            # (num_trials, minibatch_size, ...) to compile. Without `auto`, DSPy needs auto=None.
            init_keys = {"auto", "num_candidates", "max_bootstrapped_demos", "max_labeled_demos", "seed",
                         "init_temperature", "metric_threshold", "max_errors"}
            init = {k: v for k, v in optimizer.items() if k in init_keys}
            init.setdefault("auto", None)
            rest = {k: v for k, v in optimizer.items() if k not in init_keys}
            best = dspy.MIPROv2(metric=metric, num_threads=concurrency, prompt_model=lm, task_model=lm,
                                verbose=False, **init).compile(baseline, trainset=train, valset=dev, **rest)
        else:
            raise SystemExit(f"bench/real/bench.py: no DSPy counterpart for optimizer {kind!r}")
        search_calls = counter.calls - before_search
        dev_after = evaluate(best, dev)
        wall = time.perf_counter() - started
        timed_calls, timed_failures = counter.calls, failures["n"]
        test_failures_before = failures["n"]
        test_before, test_after = evaluate(baseline, test), evaluate(best, test)
        test_failures = failures["n"] - test_failures_before
    del failures_before
    return {
        "side": "dspy", "adapter": args.adapter, "optimizer": kind, "wall_s": wall,
        "search_lm_calls": search_calls, "lm_calls": timed_calls, "parse_failures": timed_failures,
        "dev_before": dev_before, "dev_after": dev_after, "dev_examples": len(dev),
        "test_before": test_before, "test_after": test_after, "test_examples": len(test),
        "test_parse_failures": test_failures,
        "versions": {"dspy": dspy.__version__},
    }


def throughput(args) -> dict:
    program = read_program(args.program)
    started = time.perf_counter()
    out = subprocess.run([args.hone, "eval", str(args.program), "--json", "--no-cache", "--concurrency",
                          str(args.concurrency), "--lm", f"task={args.model}", "--base-url", args.base_url],
                         check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    usage = summary.get("usage") or {}
    return {
        "concurrency": args.concurrency, "slots": args.slots, "wall_s": wall,
        "lm_calls": usage.get("lm_calls", summary["examples"]), "examples": summary["examples"],
        "prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": usage.get("completion_tokens"),
        "errors": summary["errors"], "score": summary["mean"], "program": str(program["_dev"].name),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("optimize", "throughput"):
        p = sub.add_parser(name)
        p.add_argument("--program", type=pathlib.Path, required=True)
        p.add_argument("--base-url", required=True)
        p.add_argument("--model", required=True)
        p.add_argument("--hone", default=str(ROOT / "target" / "release" / "hone"))
        if name == "optimize":
            p.add_argument("--side", choices=["hone", "dspy"], required=True)
            p.add_argument("--adapter", choices=["json", "chat"], default="json")
        else:
            p.add_argument("--concurrency", type=int, required=True)
            p.add_argument("--slots", type=int, required=True)
    args = parser.parse_args()
    args.program = args.program.resolve()
    if args.command == "throughput":
        result = throughput(args)
    elif args.side == "hone":
        result = hone_optimize(args)
    else:
        result = dspy_optimize(args)
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
