"""``hone.Evaluate`` with Python metrics: floats, bools, and GEPA's score-with-feedback form."""

from __future__ import annotations

import asyncio

import pytest

import hone
from helpers import Recorder

DEV = [
    hone.Example(question=f"What is {a} + {b}?", answer=str(a + b)).with_inputs("question")
    for a, b in [(1, 1), (2, 3), (4, 4), (7, 2), (5, 5), (3, 9)]
]


def exact(example, pred, trace=None):
    return example.answer == str(pred.answer).strip()


def test_bool_float_and_feedback_metrics_agree(lm):
    program = hone.ChainOfThought("question -> answer")
    as_bool = hone.Evaluate(devset=DEV, metric=exact, num_threads=4)(program, lm=lm)
    as_float = hone.Evaluate(devset=DEV, metric=lambda e, p: float(exact(e, p)))(program, lm=lm)

    def with_feedback(example, pred, trace=None):
        ok = exact(example, pred)
        return hone.Prediction(score=float(ok), feedback="right" if ok else f"expected {example.answer}")

    as_feedback = hone.Evaluate(devset=DEV, metric=with_feedback)(program, lm=lm)
    assert as_bool.score == as_float.score == as_feedback.score
    assert 0 < as_bool.score <= 100
    assert len(as_bool.results) == len(DEV)
    example, pred, score = as_bool.results[0]
    assert example is DEV[0] and isinstance(pred, hone.Prediction) and score in (0.0, 1.0)
    assert as_bool.ci_low <= as_bool.mean <= as_bool.ci_high
    assert "score" in as_bool.table()
    assert as_bool.errors == 0 and not as_bool.failures


def test_acall_gives_the_same_result(lm):
    program = hone.ChainOfThought("question -> answer")
    evaluate = hone.Evaluate(devset=DEV, metric=exact)
    assert asyncio.run(evaluate.acall(program, lm=lm)).score == evaluate(program, lm=lm).score


def test_python_module_and_its_errors_per_example(lm):
    class Flaky(hone.Module):
        def __init__(self):
            super().__init__()
            self.qa = hone.Predict("question -> answer")

        def forward(self, question):
            if "7" in question:
                raise ValueError("cannot do sevens")
            return self.qa(question=question)

    result = hone.Evaluate(devset=DEV, metric=exact)(Flaky(), lm=lm)
    assert result.errors == 1
    index, error = result.failures[0]
    assert index == 3
    assert "Flaky.forward" in error and "cannot do sevens" in error
    assert result.results[3][1] is None and result.results[3][2] == 0.0


def test_a_metric_returning_the_wrong_type_is_an_error_naming_it(lm):
    def verdict(example, pred):
        return "yes"

    with pytest.raises(hone.EvaluationError) as info:
        hone.Evaluate(devset=DEV, metric=verdict)(hone.Predict("question -> answer"), lm=lm)
    message = str(info.value)
    assert "verdict" in message and "str" in message and "float" in message


def test_max_errors_stops_the_evaluation():
    def broken(request):
        raise ConnectionError("gateway down")

    lm = hone.LM(client=broken, cache=False)
    dev = DEV * 3
    with pytest.raises(hone.EvaluationError) as info:
        hone.Evaluate(devset=dev, metric=exact, max_errors=2, num_threads=1)(hone.Predict("question -> answer"), lm=lm)
    assert "gateway down" in str(info.value)


def test_devset_needs_inputs_and_a_metric(lm):
    with pytest.raises(ValueError, match="with_inputs"):
        hone.Evaluate(devset=[hone.Example(question="q", answer="a")], metric=exact)(hone.Predict("question -> answer"), lm=lm)
    with pytest.raises(TypeError, match="metric"):
        hone.Evaluate(devset=DEV)(hone.Predict("question -> answer"), lm=lm)


def test_metric_sees_the_example_and_prediction():
    seen = []

    def metric(example, pred, trace=None):
        seen.append((example.question, example.answer, pred.answer, trace))
        return 1.0

    lm = hone.LM(client=Recorder("2"), cache=False)
    hone.Evaluate(devset=DEV[:1], metric=metric)(hone.Predict("question -> answer"), lm=lm)
    assert seen == [("What is 1 + 1?", "2", "2", None)]


def test_display_options_print_and_unknown_options_are_errors(lm, capsys):
    evaluate = hone.Evaluate(devset=DEV, metric=exact, display_progress=True, display_table=2)
    result = asyncio.run(evaluate.acall(hone.ChainOfThought("question -> answer"), lm=lm))
    out, err = capsys.readouterr()
    total = sum(score for _, _, score in result.results)
    assert f"Average Metric: {total:.2f} / {len(DEV)} ({result.score:.1f}%)" in err
    assert out.count("\n") == 2 + 2   # the header, two rows, the summary
    with pytest.raises(TypeError):
        hone.Evaluate(devset=DEV, metric=exact, save_as_csv="x.csv")
