"""A run's events from Python: ``compile(..., events=callback)`` and ``Run.drive(events=...)``
hand the callback each event as a dict of the JSON ``hone optimize --events`` writes
(docs/schema/event.v1.json), against ``hone sim``."""

from __future__ import annotations

import asyncio
import sys

import hone
from sentiment import DEV, TRAIN, Sentiment


def exact(example, pred, trace=None):
    return example.sentiment == pred.sentiment


def lm_for(sim):
    return sim.lm(temperature=0.0, max_tokens=64, seed=0)


def random_search():
    return hone.BootstrapFewShotWithRandomSearch(
        metric=exact, num_candidate_programs=2, max_bootstrapped_demos=2, max_labeled_demos=3, seed=0)


def check(events, run_log=None):
    types = [e["type"] for e in events]
    assert types[0] == "run_started" and types[-1] == "run_ended", types
    assert all(e["v"] == 1 and e["unix_ms"] > 0 for e in events)
    elapsed = [e["elapsed_secs"] for e in events]
    assert elapsed == sorted(elapsed)
    bests = [e["score"] for e in events if e["type"] == "new_best"]
    assert bests and bests == sorted(bests)
    assert events[-1]["reason"] == "done"
    assert events[-1]["best_score"] == bests[-1]
    if run_log is not None:
        trials = [e for e in run_log if e["event"] == "trial"]
        scored = [e for e in events if e["type"] == "trial_scored"]
        assert [e["trial"] for e in scored] == [t["trial"] for t in trials]
        assert [e["score"] for e in scored] == [t["score"] for t in trials]


def test_compile_hands_each_event_to_the_callback(sim, tmp_path):
    events = []
    checkpoint = tmp_path / "checkpoint.json"
    compiled = random_search().compile(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm_for(sim),
                                       adapter="json", checkpoint=checkpoint, events=events.append)
    check(events)
    started = events[0]
    assert started["optimizer"] == "bootstrap_few_shot_with_random_search"
    assert started["trainset"] == len(TRAIN) and started["valset"] == len(DEV)
    assert started["params"]["num_candidate_programs"] == 2
    assert started["resumed"] is False
    written = [e for e in events if e["type"] == "checkpoint_written"]
    assert written and written[-1]["path"] == str(checkpoint)
    assert written[-1]["bytes"] == checkpoint.stat().st_size
    # The events do not change the program.
    plain = random_search().compile(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm_for(sim),
                                    adapter="json")
    assert compiled.dump_state() == plain.dump_state()


def test_drive_and_adrive_emit_the_runs_log(sim):
    run = random_search().start(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm_for(sim), adapter="json")
    events = []
    run.drive(events=events.append)
    check(events, run.log())

    run = random_search().start(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm_for(sim), adapter="json")
    seen = []
    asyncio.run(run.adrive(events=seen.append))
    assert [e["type"] for e in seen] == [e["type"] for e in events]


def test_a_failing_callback_goes_to_the_unraisable_hook_and_the_run_goes_on(sim, monkeypatch):
    calls, raised = [], []

    def broken(event):
        calls.append(event["type"])
        raise ValueError("a dashboard bug")

    monkeypatch.setattr(sys, "unraisablehook", lambda u: raised.append(u.exc_value))
    best = random_search().compile(Sentiment(), trainset=TRAIN, valset=DEV, lm=lm_for(sim),
                                   adapter="json", events=broken)
    assert best is not None
    assert calls[0] == "run_started" and calls[-1] == "run_ended"
    assert len(raised) == len(calls)
    assert all(isinstance(e, ValueError) for e in raised)
