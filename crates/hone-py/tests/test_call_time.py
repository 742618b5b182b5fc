"""KNNFewShot, Ensemble, Embedder and majority from Python: DSPy's behaviour and errors (their
scores against the CLI's modules are in test_cli_parity.py)."""

from __future__ import annotations

import asyncio

import pytest

import hone
from helpers import Recorder

TRAIN = [
    hone.Example(question=q, answer=a).with_inputs("question")
    for q, a in [("red apple", "fruit"), ("green pear", "fruit"), ("blue car", "vehicle"), ("red truck", "vehicle")]
]


def bag_of_words(texts):
    """An embedding function: one dimension per word of a small vocabulary."""
    vocab = ["red", "green", "blue", "apple", "pear", "car", "truck", "question"]
    return [[float(w in t.split()) for w in vocab] for t in texts]


class QA(hone.Module):
    def __init__(self):
        super().__init__()
        self.answer = hone.Predict("question -> answer")

    def forward(self, question):
        return self.answer(question=question)


def test_embedder_takes_a_function_and_batches():
    calls = []

    def embed(texts):
        calls.append(len(texts))
        return bag_of_words(texts)

    embedder = hone.Embedder(embed, batch_size=3)
    vectors = embedder(["question: red apple"] * 5)
    assert calls == [3, 2] and len(vectors) == 5
    assert embedder("question: blue car") == bag_of_words(["question: blue car"])[0]
    assert asyncio.run(embedder.acall(["red"])) == bag_of_words(["red"])
    with pytest.raises(ValueError, match="returned 1 vector"):
        hone.Embedder(lambda texts: [[1.0]])(["a", "b"])
    with pytest.raises(TypeError, match="model name, a hone.LM or a function"):
        hone.Embedder(42)


def test_embedder_calls_the_embeddings_endpoint(sim):
    vectors = hone.Embedder(sim.lm("sim-embed"))(["a good film", "a good film", "an awful film"])
    assert len(vectors) == 3 and vectors[0] == vectors[1] != vectors[2]


def test_knn_bootstraps_each_call_on_its_neighbours():
    client = Recorder("fruit")
    lm = hone.LM(client=client)
    program = hone.KNNFewShot(2, TRAIN, bag_of_words).compile(QA())
    assert [e.question for e in program.neighbors(question="red apple")] == ["red apple", "red truck"]
    pred = program(question="red apple", lm=lm)
    assert pred.answer == "fruit"
    # The answering call carries the two neighbours as demos (DSPy: bootstrapped when the
    # teacher's run succeeds, here with no metric every run is kept).
    last = client.requests[-1]["messages"]
    assert "red truck" in str(last) and "red apple" in str(last)
    assert "blue car" not in str(last)


def test_knn_refuses_what_dspy_would_not_do_quietly():
    with pytest.raises(ValueError, match="num_trials"):
        hone.KNNFewShot(2, TRAIN, bag_of_words, num_trials=3)
    with pytest.raises(ValueError, match="at least 1"):
        hone.KNNFewShot(0, TRAIN, bag_of_words)
    with pytest.raises(ValueError, match="non-empty trainset"):
        hone.KNNFewShot(2, [], bag_of_words)
    with pytest.raises(TypeError, match="teacher_settings"):
        hone.KNNFewShot(2, TRAIN, bag_of_words).compile(QA(), teacher=QA())


def test_majority_votes_as_dspy():
    preds = [hone.Prediction(answer=a) for a in ["Paris", "Lyon", "the paris.", ""]]
    assert hone.majority(preds).answer == "Paris"
    # A tie goes to the earliest; "a" is an article, so it normalises to nothing and loses.
    assert hone.majority([hone.Prediction(answer="x", n=1), hone.Prediction(answer="y", n=1)], field="answer").answer == "x"
    assert hone.majority([hone.Prediction(answer="a"), hone.Prediction(answer="b")]).answer == "b"
    with pytest.raises(ValueError, match="at least one"):
        hone.majority([])
    with pytest.raises(TypeError, match="reduce_fn"):
        hone.majority(preds, normalize=str.lower)


def test_ensemble_runs_its_programs_and_reduces():
    answers = iter(["x", "y", "x"])
    lms = [hone.LM(client=Recorder(next(answers), name=f"m{i}")) for i in range(3)]
    programs = []
    for lm in lms:
        p = QA()
        p.set_lm(lm)
        programs.append(p)
    voted = hone.Ensemble(reduce_fn=hone.majority).compile(programs)
    assert voted(question="q").answer == "x"
    assert asyncio.run(voted.acall(question="q")).answer == "x"
    assert [n for n, _ in voted.named_predictors()] == [f"programs[{i}].answer" for i in range(3)]
    # Without reduce_fn, DSPy returns every output.
    outputs = hone.Ensemble().compile(programs)(question="q")
    assert [o.answer for o in outputs] == ["x", "y", "x"]
    # With size, the same inputs always get the same subset.
    two = hone.Ensemble(size=2, seed=7).compile(programs)
    first = [o.answer for o in two(question="q")]
    assert len(first) == 2 and all([o.answer for o in two(question="q")] == first for _ in range(5))
    with pytest.raises(ValueError, match="at least one program"):
        hone.Ensemble().compile([])
    with pytest.raises(ValueError, match="size of at least 1"):
        hone.Ensemble(size=0)
