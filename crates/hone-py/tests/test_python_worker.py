"""``examples/python_worker.py`` with its real job runner: a coordinator (``hone optimize
--redis``) hands an optimization's jobs to two Python workers that run a Python program and
metric through ``hone.Executor``; the run ends with the program ``hone optimize`` finds on its
own, in process."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import ROOT, hone_bin
from sentiment import program_toml

pytest.importorskip("redis")

PROGRAM = program_toml(
    'kind = "random_search"\nnum_candidate_programs = 2\nmax_bootstrapped_demos = 2\n'
    'max_labeled_demos = 2\nseed = 0'
)

# The same program in Python, as the workers import it.
PYTHON_PROGRAM = '''
import hone

class Sentiment(hone.Module):
    def __init__(self):
        super().__init__()
        self.classify = hone.Predict(
            hone.Signature("review -> sentiment: Literal['positive', 'negative']").with_instructions(
                "Classify the sentiment of the review as positive or negative."))

    def forward(self, review):
        return self.classify(review=review)

def exact(example, pred, trace=None):
    return example.sentiment == pred.sentiment
'''


def test_python_workers_serve_a_coordinator(sim, redis_url, tmp_path):
    program = tmp_path / "sentiment.toml"
    program.write_text(PROGRAM)
    (tmp_path / "sentiment_program.py").write_text(PYTHON_PROGRAM)
    env = dict(os.environ, OPENAI_API_KEY="k", PYTHONPATH=str(tmp_path))
    alone = subprocess.run([hone_bin(), "-q", "optimize", str(program), "--out", str(tmp_path / "alone"),
                            "--base-url", sim.base_url], capture_output=True, text=True, timeout=300, env=env)
    assert alone.returncode == 0, alone.stderr

    workers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "python_worker.py"), "--redis", redis_url,
             "--name", f"py-{i}", "--program", "sentiment_program:Sentiment",
             "--metric", "sentiment_program:exact", "--model", "gemma-3-270m-q4_k_m",
             "--base-url", sim.base_url, "--adapter", "json"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for i in range(2)
    ]
    try:
        coordinated = subprocess.run(
            [hone_bin(), "-q", "optimize", str(program), "--out", str(tmp_path / "coordinated"),
             "--base-url", sim.base_url, "--redis", redis_url, "--json"],
            capture_output=True, text=True, timeout=300, env=env,
        )
        assert coordinated.returncode == 0, coordinated.stderr
    finally:
        for w in workers:
            w.terminate()
        errors = [w.communicate(timeout=20)[1] for w in workers]
    assert all("Traceback" not in e for e in errors), errors
    summary = json.loads(coordinated.stdout.strip().splitlines()[-1])
    assert summary["status"] == "done", summary

    def program_of(run: str) -> dict:
        return json.loads((tmp_path / run / "program.json").read_text())["classify"]

    assert program_of("coordinated")["demos"] == program_of("alone")["demos"]
    assert program_of("coordinated")["signature"] == program_of("alone")["signature"]
    record = json.loads((tmp_path / "coordinated" / "run.json").read_text())
    alone_record = json.loads((tmp_path / "alone" / "run.json").read_text())
    assert record["best"] == alone_record["best"]
    # The optimization's jobs ran on the Python workers (their LM calls come back with the
    # results); the coordinator itself only scored the baseline and the best on dev.
    assert record["lm_calls"] == alone_record["lm_calls"] > 0
    assert record["usage"]["calls"] == 2 * 20
