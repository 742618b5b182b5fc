"""One optimization, run from Python (`compile`) and by the CLI (`hone optimize`), on the same
simulated server: the program, data, metric, optimizer settings and seed of
testdata/programs/sentiment.toml, with `[optimizer]` set by the arguments. Prints one JSON
line: the wall time, the LM calls and a digest of the best program's demos and instructions,
so the two sides can be compared run for run. Give each side a fresh simulator: its sampled
answers (instruction proposals, sent without a seed) depend on how many identical requests it
has seen.

    python bench/python/optimize.py --side python --base-url URL --kind mipro_v2
    python bench/python/optimize.py --side cli --hone target/release/hone --base-url URL --kind mipro_v2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import subprocess
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=["python", "cli"], required=True)
    parser.add_argument("--kind", choices=sorted(SETTINGS), default="mipro_v2")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--hone", default=str(ROOT / "target" / "release" / "hone"))
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    out = run_cli(args) if args.side == "cli" else run_python(args)
    print(json.dumps({"kind": args.kind, "concurrency": args.concurrency, **out}))


if __name__ == "__main__":
    main()
