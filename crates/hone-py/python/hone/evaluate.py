"""``hone.Evaluate``: a program over a devset, scored by your metric, with bounded
concurrency, ``max_errors`` and a 95% confidence interval — hone's evaluation, from Python."""

from __future__ import annotations

import inspect
import math
import sys
from typing import Any, Callable

from . import _hone
from ._wait import await_pending, wait
from .lm import core_lm
from .module import Module, _adapter_name
from .primitives import Example, Prediction, example_rows


class EvaluationResult:
    """What ``Evaluate`` returns: ``score`` in percent (as DSPy), the mean in ``[0, 1]``, its
    95% interval, the failed examples and ``results``: ``(example, prediction, score)``."""

    def __init__(self, raw: dict[str, Any], devset: list[Example]) -> None:
        self.score: float = raw["score"]
        self.mean: float = raw["mean"]
        self.ci_low: float = raw["ci_low"]
        self.ci_high: float = raw["ci_high"]
        self.std_err: float = raw["std_err"]
        self.errors: int = raw["errors"]
        self.metric: str = raw["metric"]
        self.results: list[tuple[Example, Prediction | None, float]] = []
        self.failures: list[tuple[int, str]] = []
        for r in raw["results"]:
            example = devset[r["index"]]
            pred = Prediction(r["prediction"]) if r["prediction"] is not None else None
            if pred is not None and r.get("feedback") is not None:
                object.__setattr__(pred, "_feedback", r["feedback"])
            self.results.append((example, pred, r["score"]))
            if r["error"] is not None:
                self.failures.append((r["index"], r["error"]))

    def __float__(self) -> float:
        return self.score

    def __repr__(self) -> str:
        return (
            f"EvaluationResult(score={self.score}, interval=[{self.ci_low * 100:.2f}, "
            f"{self.ci_high * 100:.2f}], n={len(self.results)}, errors={self.errors})"
        )

    def table(self, limit: int | None = 20) -> str:
        """A plain-text table of the per-example results."""
        rows = ["  #  score  prediction"]
        for i, (_, pred, score) in enumerate(self.results[: limit or None]):
            shown = "ERROR" if pred is None else ", ".join(f"{k}={v!r}" for k, v in pred.items())
            rows.append(f"{i:>3}  {score:5.2f}  {shown[:100]}")
        rows.append(f"score {self.score:.2f}% (95% interval {self.ci_low * 100:.2f}–{self.ci_high * 100:.2f}), {self.errors} failed")
        return "\n".join(rows)


def _metric_name(metric: Callable[..., Any]) -> str:
    return getattr(metric, "__name__", type(metric).__name__)


def _objectives(name: str, objectives: Any) -> dict[str, float] | None:
    """A metric's ``objectives``: a dict of names to numbers, or ``None``."""
    if objectives is None:
        return None
    if not isinstance(objectives, dict):
        raise TypeError(
            f"metric `{name}` returned objectives={type(objectives).__name__}; return a dict "
            f"of names to scores, e.g. objectives={{'accuracy': 1.0}}"
        )
    out = {}
    for key, value in objectives.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(
                f"metric `{name}` returned objective `{key}` = {value!r}; objective scores are "
                f"numbers"
            )
        out[str(key)] = float(value)
    return out


def wrap_metric(
    metric: Callable[..., Any],
) -> Callable[[dict, dict], tuple[float, str | None, dict[str, float] | None]]:
    """The metric as hone's core calls it: ``(example, prediction) -> (score, feedback,
    objectives)``; ``objectives`` are the named scores of ``hone.Prediction(score=...,
    objectives={"name": score})`` (GEPA's ``frontier_type`` reads them)."""
    name = _metric_name(metric)
    takes_trace = False
    try:
        params = inspect.signature(metric).parameters
        takes_trace = "trace" in params or len(params) >= 3
    except (TypeError, ValueError):
        pass

    def score(example: dict, prediction: dict) -> tuple[float, str | None, dict[str, float] | None]:
        ex = Example(example)
        pred = Prediction(prediction)
        out = metric(ex, pred, None) if takes_trace else metric(ex, pred)
        feedback = None
        objectives = None
        if isinstance(out, Prediction) or (isinstance(out, dict) and "score" in out):
            feedback = out.get("feedback")
            objectives = _objectives(name, out.get("objectives"))
            out = out["score"]
        if isinstance(out, bool):
            return (1.0 if out else 0.0, feedback, objectives)
        if isinstance(out, (int, float)) and not isinstance(out, bool):
            value = float(out)
            if math.isnan(value):
                raise ValueError(f"metric `{name}` returned NaN")
            return (value, feedback, objectives)
        raise TypeError(
            f"metric `{name}` must return a float, a bool or hone.Prediction(score=..., "
            f"feedback=...), not {type(out).__name__}"
        )

    return score


class Evaluate:
    """Evaluates a program on ``devset`` with ``metric(example, pred, trace=None)``
    (DSPy's ``dspy.Evaluate``). ``num_threads`` calls run at once (on hone's runtime; no
    thread per call); past ``max_errors`` failed examples the evaluation stops.
    ``display_progress`` prints DSPy's closing line (``Average Metric: 5.00 / 6 (83.3%)``) to
    stderr; ``display_table`` prints the per-example table (``True`` or its number of rows)."""

    def __init__(self, *, devset: list[Example], metric: Callable[..., Any] | None = None,
                 num_threads: int | None = None, max_errors: int | None = None,
                 failure_score: float = 0.0, display_progress: bool = False,
                 display_table: bool | int = False) -> None:
        self.devset = list(devset)
        self.metric = metric
        self.num_threads = num_threads or 8
        self.max_errors = max_errors
        self.failure_score = failure_score
        self.display_progress = display_progress
        self.display_table = display_table

    def _start(self, program: Module, metric: Callable[..., Any] | None, lm: Any,
               adapter: Any) -> _hone.Pending:
        metric = metric or self.metric
        if metric is None:
            raise TypeError("Evaluate needs a metric: Evaluate(devset=..., metric=my_metric)")
        if not isinstance(program, Module):
            raise TypeError(f"Evaluate runs a hone.Module, not {type(program).__name__}")
        rows, keys = example_rows(self.devset, "devset")
        ctx = _hone.Ctx(lm=core_lm(lm), adapter=_adapter_name(adapter))
        return _hone.evaluate(
            program, rows, keys, wrap_metric(metric), _metric_name(metric), ctx,
            num_threads=self.num_threads, max_errors=self.max_errors,
            failure_score=self.failure_score,
        )

    def _finish(self, raw: dict[str, Any]) -> EvaluationResult:
        result = EvaluationResult(raw, self.devset)
        if result.results and result.errors == len(result.results):
            index, error = result.failures[0]
            raise _hone.EvaluationError(
                f"every one of the {len(result.results)} examples failed; the first, devset[{index}]: "
                f"{error}"
            )
        if self.display_progress:
            total = sum(score for _, _, score in result.results)
            print(f"Average Metric: {total:.2f} / {len(result.results)} ({result.score:.1f}%)",
                  file=sys.stderr)
        if self.display_table:
            print(result.table(None if self.display_table is True else int(self.display_table)))
        return result

    def __call__(self, program: Module, metric: Callable[..., Any] | None = None, *,
                 lm: Any = None, adapter: Any = None) -> EvaluationResult:
        """Runs the evaluation. Raises ``hone.EvaluationError`` when ``max_errors`` examples
        failed (DSPy's default: 10) or every example did; otherwise failed examples score
        ``failure_score`` and are listed in ``result.failures``."""
        return self._finish(wait(self._start(program, metric, lm, adapter)))

    async def acall(self, program: Module, metric: Callable[..., Any] | None = None, *,
                    lm: Any = None, adapter: Any = None) -> EvaluationResult:
        return self._finish(await await_pending(self._start(program, metric, lm, adapter)))
