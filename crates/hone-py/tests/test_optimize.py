"""Optimizers from Python: ``compile``, the step machine driven by a plain loop, a thread pool
and asyncio, checkpoint and resume — all giving the same best program for a fixed seed
(``test_cli_parity.py`` checks the same program comes from ``hone optimize``)."""

from __future__ import annotations

import asyncio
import pathlib
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

import hone
from sentiment import DEV, TRAIN, Sentiment

def exact(example, pred, trace=None):
    return example.sentiment == pred.sentiment


def with_feedback(example, pred, trace=None):
    ok = exact(example, pred)
    return hone.Prediction(score=float(ok), feedback="right" if ok else f"the answer is {example.sentiment}")


OPTIMIZERS = {
    "labeled": lambda: hone.LabeledFewShot(k=3),
    "bootstrap": lambda: hone.BootstrapFewShot(metric=exact, max_bootstrapped_demos=2, max_labeled_demos=2),
    "random_search": lambda: hone.BootstrapFewShotWithRandomSearch(
        metric=exact, num_candidate_programs=2, max_bootstrapped_demos=2, max_labeled_demos=3, seed=0),
    "optuna": lambda: hone.BootstrapFewShotWithOptuna(
        metric=exact, max_bootstrapped_demos=2, max_labeled_demos=2, num_candidate_programs=3, seed=0),
    "infer_rules": lambda: hone.InferRules(
        metric=exact, num_candidates=2, num_rules=3, max_bootstrapped_demos=2, max_labeled_demos=2),
    "mipro": lambda: hone.MIPROv2(metric=exact, auto="light", seed=0),
    "copro": lambda: hone.COPRO(metric=exact, breadth=2, depth=1),
    "simba": lambda: hone.SIMBA(metric=exact, bsize=4, max_steps=2, num_candidates=2, seed=0),
    "gepa": lambda: hone.GEPA(metric=with_feedback, max_metric_calls=80, seed=0),
}


def lm_for(sim):
    # A request seed makes the simulator's sampled answers (proposals at temperature > 0) a
    # function of the request alone, as the same seed does on a real server.
    return sim.lm(temperature=0.0, max_tokens=64, seed=0)


def loop(run: hone.Run) -> hone.Module:
    while not run.is_done():
        jobs = run.ask()
        assert jobs, "a run that is not done hands out jobs once every result is in"
        for job in jobs:
            assert run.tell(run.execute(job)) == "accepted"
    return run.best()


def thread_pool(run: hone.Run) -> hone.Module:
    with ThreadPoolExecutor(8) as pool:
        while not run.is_done():
            for result in pool.map(run.execute, run.ask()):
                run.tell(result)
    return run.best()


def with_asyncio(run: hone.Run) -> hone.Module:
    async def drive():
        while not run.is_done():
            for result in await asyncio.gather(*(run.aexecute(job) for job in run.ask())):
                run.tell(result)
        return run.best()

    return asyncio.run(drive())


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_compile_and_every_executor_give_one_program(sim, name):
    lm = lm_for(sim)
    compiled = OPTIMIZERS[name]().compile(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm, adapter="json")
    expected = compiled.dump_state()
    for drive in (loop, thread_pool, with_asyncio):
        run = OPTIMIZERS[name]().start(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm, adapter="json")
        assert drive(run).dump_state() == expected, f"{name} driven by {drive.__name__}"


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_run_dropped_and_resumed_ends_equal(sim, tmp_path, name):
    lm = lm_for(sim)
    whole = OPTIMIZERS[name]().compile(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm, adapter="json")
    run = OPTIMIZERS[name]().start(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm, adapter="json")
    handed_out = []
    for _ in range(2):   # some steps, then drop the run with jobs in flight
        jobs = run.ask()
        handed_out = jobs[1:]
        for job in jobs[:1]:
            run.tell(run.execute(job))
    run.save(tmp_path / "state.json")
    del run
    resumed = OPTIMIZERS[name]().resume(tmp_path / "state.json", Sentiment(), lm=lm, adapter="json")
    assert {j["id"] for j in resumed.pending()} >= {j["id"] for j in handed_out}
    for job in resumed.pending():
        resumed.tell(resumed.execute(job))
    assert loop(resumed).dump_state() == whole.dump_state()


def test_unknown_parameters_and_missing_pieces_are_errors(sim):
    with pytest.raises(ValueError, match="num_trails"):
        hone.BootstrapFewShot(metric=exact, num_trails=3).compile(Sentiment(), trainset=TRAIN, lm=lm_for(sim))
    # A DSPy option hone has no use for is an error too, not silently dropped.
    with pytest.raises(ValueError, match="verbose"):
        hone.MIPROv2(metric=exact, verbose=True).compile(Sentiment(), trainset=TRAIN, lm=lm_for(sim))
    with pytest.raises(TypeError, match="metric"):
        hone.BootstrapFewShot().compile(Sentiment(), trainset=TRAIN, lm=lm_for(sim))
    with pytest.raises(hone.NoLMError, match="lm="):
        hone.BootstrapFewShot(metric=exact).compile(Sentiment(), trainset=TRAIN)
    with pytest.raises(TypeError, match="teacher_settings"):
        hone.BootstrapFewShot(metric=exact).compile(Sentiment(), trainset=TRAIN, teacher=Sentiment(), lm=lm_for(sim))
    with pytest.raises(TypeError, match="exactly one budget"):
        hone.GEPA(metric=with_feedback)
    names = {o["name"] for o in hone.optimizers()}
    assert {"mipro_v2", "gepa", "simba", "copro", "labeled_few_shot"} <= names


def test_the_student_is_unchanged_and_the_result_runs(sim):
    student = Sentiment()
    before = student.dump_state()
    best = hone.BootstrapFewShot(metric=exact, max_bootstrapped_demos=2).compile(student, trainset=TRAIN, lm=lm_for(sim))
    assert student.dump_state() == before
    assert best.classify.demos
    assert best(review="Great value, works perfectly.", lm=lm_for(sim)).sentiment in ("positive", "negative")


CTRL_C = """
import sys, hone
sys.path.insert(0, sys.argv[3])
from test_optimize import OPTIMIZERS, Sentiment, TRAIN, DEV
lm = hone.LM("sim", base_url=sys.argv[1], api_key="k", cache=False, temperature=0.0, max_tokens=64)
print("ready", flush=True)
try:
    OPTIMIZERS["mipro"]().compile(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm, adapter="json",
                                  checkpoint=sys.argv[2])
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(0)
sys.exit(4)
"""


def test_ctrl_c_during_compile_stops_promptly_and_leaves_a_checkpoint(sim, slow_sim, tmp_path):
    import signal
    import sys
    import time

    checkpoint = tmp_path / "checkpoint.json"
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C, slow_sim.base_url, str(checkpoint),
                             str(pathlib.Path(__file__).parent)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.time() + 60
    while not checkpoint.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert checkpoint.exists(), "no checkpoint was written while the run went on"
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "interrupted" in out
    assert time.perf_counter() - start < 5
    # The checkpoint resumes to the same program as an uninterrupted run.
    lm = lm_for(sim)
    whole = OPTIMIZERS["mipro"]().compile(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm, adapter="json")
    resumed = OPTIMIZERS["mipro"]().resume(checkpoint, Sentiment(), lm=lm, adapter="json")
    for job in resumed.pending():
        resumed.tell(resumed.execute(job))
    assert loop(resumed).dump_state() == whole.dump_state()
