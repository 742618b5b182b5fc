"""Every optimizer from Python against the same optimizer from ``hone optimize``: the same
program file's task, data, seed and LM settings give the same best program (the ask/tell
optimizers) or the same dev scores, example by example (KNNFewShot and Ensemble, which act at
call time)."""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest

import hone
from conftest import hone_bin
from sentiment import DEV, MODEL, TRAIN, Sentiment, program_toml

def exact_match(example, pred, trace=None):
    """The CLI's ``exact_match`` metric on ``sentiment``, feedback included."""
    if example.sentiment == pred.sentiment:
        return True
    return hone.Prediction(
        score=0.0,
        feedback=f"`sentiment` should be {json.dumps(example.sentiment)} but the prediction is "
        f"{json.dumps(pred.sentiment)}",
    )


# name: (the optimizer from Python, the same optimizer's [optimizer] table)
ASK_TELL = {
    "labeled": (lambda: hone.LabeledFewShot(k=3), 'kind = "labeled_few_shot"\nk = 3'),
    "bootstrap": (
        lambda: hone.BootstrapFewShot(metric=exact_match, max_bootstrapped_demos=2, max_labeled_demos=2),
        'kind = "bootstrap_few_shot"\nmax_bootstrapped_demos = 2\nmax_labeled_demos = 2',
    ),
    "random_search": (
        lambda: hone.BootstrapFewShotWithRandomSearch(
            metric=exact_match, num_candidate_programs=2, max_bootstrapped_demos=2, max_labeled_demos=3, seed=0),
        'kind = "random_search"\nnum_candidate_programs = 2\nmax_bootstrapped_demos = 2\n'
        'max_labeled_demos = 3\nseed = 0',
    ),
    "optuna": (
        lambda: hone.BootstrapFewShotWithOptuna(
            metric=exact_match, max_labeled_demos=2, num_candidate_programs=3, seed=0),
        'kind = "optuna"\nmax_labeled_demos = 2\nnum_candidate_programs = 3\nseed = 0',
    ),
    "infer_rules": (
        lambda: hone.InferRules(metric=exact_match, num_candidates=2, num_rules=3, max_bootstrapped_demos=2),
        'kind = "infer_rules"\nnum_candidates = 2\nnum_rules = 3\nmax_bootstrapped_demos = 2',
    ),
    "mipro": (
        lambda: hone.MIPROv2(metric=exact_match, auto="light", seed=0),
        'kind = "mipro_v2"\nauto = "light"\nseed = 0',
    ),
    "copro": (
        lambda: hone.COPRO(metric=exact_match, breadth=2, depth=1),
        'kind = "copro"\nbreadth = 2\ndepth = 1',
    ),
    "simba": (
        lambda: hone.SIMBA(metric=exact_match, bsize=4, max_steps=2, num_candidates=2, seed=0),
        'kind = "simba"\nbsize = 4\nmax_steps = 2\nnum_candidates = 2\nseed = 0',
    ),
    "gepa": (
        lambda: hone.GEPA(metric=exact_match, max_metric_calls=80, seed=0),
        'kind = "gepa"\nbudget = { max_metric_calls = 80 }\nseed = 0',
    ),
}


def lm(sim) -> hone.LM:
    return sim.lm(MODEL, temperature=0.0, max_tokens=64, seed=0)


def program_file(tmp_path: pathlib.Path, optimizer: str, extra: str = "") -> pathlib.Path:
    """The sentiment program with the LM settings of ``lm()`` and ``optimizer`` as its table."""
    path = tmp_path / "sentiment.toml"
    path.write_text(program_toml(f"{optimizer}\nconcurrency = 8", extra=extra,
                                 lm="temperature = 0.0\nmax_tokens = 64\nseed = 0\nmax_in_flight = 8"))
    return path


def optimize(sim, program: pathlib.Path, out: pathlib.Path) -> dict:
    proc = subprocess.run(
        [hone_bin(), "-q", "optimize", str(program), "--out", str(out), "--base-url", sim.base_url],
        capture_output=True, text=True, timeout=600, env={"OPENAI_API_KEY": "k", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "run.json").read_text())


def dev_results(out: pathlib.Path, which: str) -> list[tuple[str, float]]:
    """The CLI's per-example dev results of ``baseline`` or ``best``: (review, score)."""
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    return sorted((r["inputs"]["review"], float(r["score"])) for r in rows if r["program"] == which)


def python_results(program: hone.Module, lm_: hone.LM) -> list[tuple[str, float]]:
    result = hone.Evaluate(devset=DEV, metric=exact_match, num_threads=8)(program, lm=lm_, adapter="json")
    return sorted((ex.review, float(score)) for ex, _, score in result.results)


@pytest.mark.parametrize("name", sorted(ASK_TELL))
def test_compile_gives_the_cli_program(sim, tmp_path, name):
    make, table = ASK_TELL[name]
    optimize(sim, program_file(tmp_path, table), tmp_path / "run")
    cli = json.loads((tmp_path / "run" / "program.json").read_text())["classify"]
    ours = make().compile(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm(sim), adapter="json")
    ours = ours.dump_state()["classify"]
    assert ours["signature"]["instructions"] == cli["signature"]["instructions"]
    assert ours["demos"] == cli["demos"]


def test_knn_few_shot_scores_as_the_cli(sim, tmp_path):
    run = optimize(
        sim,
        program_file(tmp_path, 'kind = "knn_few_shot"\nk = 2\nmax_bootstrapped_demos = 1',
                     '[lm.embedder]\nmodel = "sim-embed"\n'),
        tmp_path / "run",
    )
    assert run["best"]["errors"] == 0
    embedder = hone.Embedder(sim.lm("sim-embed"))
    knn = hone.KNNFewShot(2, TRAIN, embedder, max_bootstrapped_demos=1)
    program = knn.compile(Sentiment())
    ours = python_results(program, lm(sim))
    assert ours == dev_results(tmp_path / "run", "best")
    # The neighbours are the CLI's nearest training examples, nearest first.
    nearest = program.neighbors(review=DEV[0].review)
    assert len(nearest) == 2 and all(n in TRAIN for n in nearest)
    # The compiled program lists, saves and loads the student's predictors.
    assert [n for n, _ in program.named_predictors()] == ["classify"]
    assert program.dump_state() == Sentiment().dump_state()


def test_ensemble_scores_as_the_cli(sim, tmp_path):
    optimize(sim, program_file(tmp_path, 'kind = "labeled_few_shot"\nk = 2'), tmp_path / "first")
    run = optimize(
        sim,
        program_file(
            tmp_path,
            'kind = "ensemble"\nprograms = ["first/program.json", "first/baseline.json", '
            '"first/program.json"]\nsize = 2\nseed = 1\nfield = "sentiment"',
        ),
        tmp_path / "run",
    )
    assert run["best"]["errors"] == 0
    programs = [Sentiment().load(tmp_path / "first" / name)
                for name in ("program.json", "baseline.json", "program.json")]
    ensemble = hone.Ensemble(reduce_fn=lambda outputs: hone.majority(outputs, field="sentiment"),
                             size=2, seed=1).compile(programs)
    assert python_results(ensemble, lm(sim)) == dev_results(tmp_path / "run", "best")
    assert [n for n, _ in ensemble.named_predictors()] == [f"programs[{i}].classify" for i in range(3)]
