"""Optimizers from Python, with DSPy's names and parameters, over Python programs, metrics
and tools: ``compile`` runs one to its end; ``start`` gives a step machine for your own
executor (``ask`` → jobs as plain dicts, ``execute``/``aexecute`` → results, ``tell``), whose
``state()`` resumes later (``resume``). Every optimizer is hone-optimize's: this module only
maps DSPy's keyword arguments onto the optimizer catalogue.

>>> tp = hone.MIPROv2(metric=exact, auto="light", seed=0)                # doctest: +SKIP
>>> best = tp.compile(program, trainset=train, valset=dev, lm=lm)        # doctest: +SKIP

On your own executor (Celery, a thread pool, asyncio):

>>> run = hone.BootstrapFewShot(metric=exact).start(program, trainset=train, lm=lm)  # doctest: +SKIP
>>> while not run.is_done():                                             # doctest: +SKIP
...     for job in run.ask():
...         run.tell(run.execute(job))        # or send the job to a worker that executes it
>>> best = run.best()                                                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

from . import _hone
from ._wait import await_pending, wait
from .evaluate import _metric_name, wrap_metric
from .lm import core_lm
from .module import Module, NativeModule, _adapter_name
from .primitives import example_rows

class Run:
    """An optimization run, step by step. ``ask()`` hands out jobs (dicts in the schema of
    ``docs/schema/``); run each here with ``execute``/``aexecute`` or anywhere that runs the
    same program and metric, and ``tell`` the result. ``state()`` is everything needed to go
    on later (JSON-serializable); ``best()`` the best program so far."""

    def __init__(self, native: _hone.Run, student: Module) -> None:
        self._run = native
        self._student = student

    @property
    def optimizer(self) -> str:
        """The optimizer's catalogue name (``mipro_v2``, ``gepa``, ...)."""
        return self._run.optimizer

    def ask(self) -> list[dict[str, Any]]:
        """Jobs that can run now; each is handed out once. Empty while the run waits for
        results, or once it is done."""
        return self._run.ask()

    def pending(self) -> list[dict[str, Any]]:
        """Jobs handed out that have no result yet (after ``resume``, run these again)."""
        return self._run.pending()

    def execute(self, job: dict[str, Any]) -> dict[str, Any]:
        """Runs one job in this process and returns its result (blocking; cooperates with
        threads and gevent as every hone call does)."""
        return wait(self._run.execute(job))

    async def aexecute(self, job: dict[str, Any]) -> dict[str, Any]:
        """Runs one job in this process on the running event loop."""
        return await await_pending(self._run.execute(job))

    def tell(self, result: dict[str, Any]) -> str:
        """Records a job's result: ``"accepted"``, ``"duplicate"`` (already told),
        ``"unknown"`` (never issued) or ``"stale"`` (no longer needed)."""
        return self._run.tell(result)

    def observe(self, elapsed_secs: float, stop_requested: bool | None = None) -> None:
        """Hands the run what your loop observed, before a ``tell``: the run's wall-clock
        seconds so far and whether a stop was requested (by default, whether the optimizer's
        ``stop_file`` exists). GEPA's ``timeout_secs`` and ``stop_file`` read them; ``compile``
        passes them itself."""
        self._run.observe(elapsed_secs, stop_requested)

    def is_done(self) -> bool:
        """Whether the run is over."""
        return self._run.is_done()

    def state(self) -> dict[str, Any]:
        """Everything needed to continue later: ``{"optimizer": NAME, "state": {...}}``."""
        return self._run.state()

    def save(self, path: str | os.PathLike) -> None:
        """Writes ``state()`` as JSON (atomically)."""
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.state(), f)
        os.replace(tmp, path)

    def log(self) -> dict[str, Any]:
        """The optimizer's record of trials and proposals."""
        return self._run.log()

    def best(self) -> Module | None:
        """A copy of the student with the best state found so far, or ``None``."""
        text = self._run.best()
        return None if text is None else self._student._hone_candidate(text)

    def drive(self, checkpoint: str | os.PathLike | None = None, *,
              events: Callable[[dict[str, Any]], Any] | None = None) -> Module:
        """Runs every remaining step here, concurrently, and returns the best program.
        With ``checkpoint``, the state is written there after each result; Ctrl-C stops the
        run after writing it (resume with ``Optimizer.resume``). ``events`` is called with
        each of the run's events as a dict -- ``run_started``, ``candidate_proposed``,
        ``trial_scored``, ``new_best``, ``checkpoint_written``, ``run_ended`` (the JSON of
        ``hone optimize --events``, docs/schema/event.v1.json) -- from the thread driving
        the run; keep it quick."""
        report = wait(self._run.drive(os.fspath(checkpoint) if checkpoint else None, events))
        return self._finish(report)

    async def adrive(self, checkpoint: str | os.PathLike | None = None, *,
                     events: Callable[[dict[str, Any]], Any] | None = None) -> Module:
        """``drive`` on the running event loop."""
        report = await await_pending(
            self._run.drive(os.fspath(checkpoint) if checkpoint else None, events))
        return self._finish(report)

    def _finish(self, report: dict[str, Any]) -> Module:
        if report["stopped"]:
            raise KeyboardInterrupt("the optimization was stopped; its checkpoint holds the run so far")
        best = self.best()
        if best is None:
            raise _hone.HoneError(f"{self.optimizer} ended without a program")
        return best


def _role_lms(student: Module, lm: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """The LMs of a run by role: ``task`` is ``lm``, else the student's own LM; the teacher
    and the proposer (MIPROv2's ``prompt_model``, GEPA's ``reflection_lm``) default to the
    task LM, as DSPy's default to its configured LM."""
    task = lm if lm is not None else extra.get("task")
    if task is None:
        found = [n._lm for _, n in student._named_natives() if n._lm is not None]
        task = found[0] if found else None
    roles = {"teacher": task, "proposer": task, **{k: v for k, v in extra.items() if v is not None}}
    roles["task"] = task
    return {role: core_lm(v) for role, v in roles.items() if v is not None}


class Executor:
    """Runs an optimization's jobs in this process — what a worker of your own task queue
    holds: the same program (``student``), metric and LMs as the run that hands out the jobs.

    >>> executor = hone.Executor(Program(), metric=exact, lm=lm)        # doctest: +SKIP
    >>> result = executor.execute(job)          # a job from Run.ask(), sent to this worker

    ``teacher_lm`` and ``proposer_lm`` serve jobs of those roles (bootstrapping with a
    teacher, MIPROv2's ``prompt_model``, GEPA's ``reflection_lm``).
    """

    def __init__(self, student: Module, *, metric: Callable[..., Any], lm: Any = None,
                 teacher_lm: Any = None, proposer_lm: Any = None, adapter: Any = None,
                 concurrency: int = 8) -> None:
        if not isinstance(student, Module):
            raise TypeError(f"the student must be a hone.Module, not {type(student).__name__}")
        extra = {"teacher": teacher_lm, "proposer": proposer_lm}
        self._executor = _hone.Executor(
            student, wrap_metric(metric), _metric_name(metric),
            _role_lms(student, lm, {k: v for k, v in extra.items() if v is not None}),
            _hone.Ctx(adapter=_adapter_name(adapter)), concurrency=concurrency,
        )

    def execute(self, job: dict[str, Any]) -> dict[str, Any]:
        """Runs one job and returns its result (blocking; cooperates with gevent)."""
        return wait(self._executor.execute(job))

    async def aexecute(self, job: dict[str, Any]) -> dict[str, Any]:
        """Runs one job on the running event loop."""
        return await await_pending(self._executor.execute(job))


class Optimizer:
    """The base of hone's optimizers (DSPy's teleprompters). Subclasses name a catalogue
    entry; keyword arguments are the optimizer's parameters, as DSPy names them."""

    kind: str = ""
    _lm_params: dict[str, str] = {}

    def __init__(self, metric: Callable[..., Any] | None = None, **params: Any) -> None:
        self.metric = metric
        self.lms: dict[str, Any] = {}
        self.num_threads: int | None = None
        self.params: dict[str, Any] = {}
        self._take(params)
        # A parameter the optimizer does not take is an error here, as in DSPy's constructors.
        _hone.check_params(self.kind, self.params)

    def _take(self, params: dict[str, Any]) -> None:
        for key, value in params.items():
            if key == "num_threads":
                self.num_threads = value
            elif key == "teacher_settings":
                lm = (value or {}).get("lm")
                if lm is not None:
                    self.lms["teacher"] = lm
                    self.params["teacher_lm"] = "teacher"
            elif key in self._lm_params:
                if value is not None:
                    self.lms[self._lm_params[key]] = value
            elif value is not None:
                self.params[key] = value

    def _lms(self, student: Module, lm: Any) -> dict[str, Any]:
        return _role_lms(student, lm, self.lms)

    def start(self, student: Module, *, trainset: list[Any], valset: list[Any] | None = None,
              lm: Any = None, adapter: Any = None, concurrency: int | None = None,
              **compile_params: Any) -> Run:
        """Starts the optimizer on ``student`` and returns the step machine."""
        return self._start(student, trainset, valset, lm, _hone.Ctx(adapter=_adapter_name(adapter)),
                           concurrency, compile_params)

    def _start(self, student: Module, trainset: list[Any], valset: list[Any] | None, lm: Any,
               ctx: _hone.Ctx, concurrency: int | None, compile_params: dict[str, Any]) -> Run:
        if not isinstance(student, Module):
            raise TypeError(f"the student must be a hone.Module, not {type(student).__name__}")
        if self.metric is None:
            raise TypeError(f"{type(self).__name__} needs a metric: {type(self).__name__}(metric=my_metric)")
        if compile_params.pop("teacher", None) is not None:
            raise TypeError(
                "hone's optimizers bootstrap with a teacher LM, not a teacher program: pass "
                "teacher_settings={'lm': hone.LM(...)} to the optimizer"
            )
        self._take(compile_params)
        train_rows, train_keys = example_rows(trainset, "trainset")
        val_rows, val_keys = example_rows(valset, "valset") if valset is not None else (None, None)
        native = _hone.start(
            self.kind, self.params, student, student._parts(), train_rows, train_keys,
            val_rows, val_keys, wrap_metric(self.metric), _metric_name(self.metric),
            self._lms(student, lm), ctx, concurrency=concurrency or self.num_threads or 8,
        )
        return Run(native, student)

    def resume(self, state: dict[str, Any] | str | os.PathLike, student: Module, *, lm: Any = None,
               adapter: Any = None, concurrency: int | None = None) -> Run:
        """A run continued from ``Run.state()`` (a dict, or the path ``Run.save`` or a
        checkpoint wrote); the jobs it had handed out come back from ``pending()``."""
        if not isinstance(state, dict):
            with open(state, encoding="utf-8") as f:
                state = json.load(f)
        if self.metric is None:
            raise TypeError(f"{type(self).__name__} needs its metric to resume")
        native = _hone.restore(
            state, student, wrap_metric(self.metric), _metric_name(self.metric),
            self._lms(student, lm), _hone.Ctx(adapter=_adapter_name(adapter)),
            concurrency=concurrency or self.num_threads or 8,
        )
        return Run(native, student)

    def compile(self, student: Module, *, trainset: list[Any], valset: list[Any] | None = None,
                lm: Any = None, adapter: Any = None, checkpoint: str | os.PathLike | None = None,
                concurrency: int | None = None,
                events: Callable[[dict[str, Any]], Any] | None = None,
                **compile_params: Any) -> Module:
        """Optimizes ``student`` and returns the optimized copy (the student is unchanged).
        ``events`` receives the run's events as dicts (see ``Run.drive``)."""
        run = self.start(student, trainset=trainset, valset=valset, lm=lm, adapter=adapter,
                         concurrency=concurrency, **compile_params)
        return run.drive(checkpoint, events=events)

    async def acompile(self, student: Module, *, trainset: list[Any], valset: list[Any] | None = None,
                       lm: Any = None, adapter: Any = None, checkpoint: str | os.PathLike | None = None,
                       concurrency: int | None = None,
                       events: Callable[[dict[str, Any]], Any] | None = None,
                       **compile_params: Any) -> Module:
        """``compile`` on the running event loop."""
        run = self.start(student, trainset=trainset, valset=valset, lm=lm, adapter=adapter,
                         concurrency=concurrency, **compile_params)
        return await run.adrive(checkpoint, events=events)


class LabeledFewShot(Optimizer):
    """Demos drawn from the labeled trainset (DSPy's ``LabeledFewShot(k=16)``)."""

    kind = "labeled_few_shot"

    def __init__(self, k: int = 16, **params: Any) -> None:
        super().__init__(None, k=k, **params)
        self.metric = lambda example, pred, trace=None: 0.0

class BootstrapFewShot(Optimizer):
    """Demos from traces of the program's own successful runs (DSPy's ``BootstrapFewShot``)."""

    kind = "bootstrap_few_shot"


class BootstrapFewShotWithRandomSearch(Optimizer):
    """Several bootstrapped demo sets, scored on the valset; the best wins."""

    kind = "bootstrap_few_shot_with_random_search"


class BootstrapFewShotWithOptuna(Optimizer):
    """One bootstrapped demo per predictor chosen by a TPE study over the valset (DSPy's
    ``BootstrapFewShotWithOptuna``); ``compile(..., max_demos=N)`` as in DSPy."""

    kind = "bootstrap_few_shot_with_optuna"

    def __init__(self, metric: Callable[..., Any] | None = None, *,
                 max_bootstrapped_demos: int | None = None, **params: Any) -> None:
        # DSPy only prints `max_bootstrapped_demos`; the bootstrap takes `compile(max_demos=)`.
        del max_bootstrapped_demos
        super().__init__(metric, **params)


class InferRules(Optimizer):
    """Rules induced from the training examples and appended to the instructions; the best
    of ``num_candidates`` candidates wins (DSPy's ``InferRules``)."""

    kind = "infer_rules"


class MIPROv2(Optimizer):
    """Instructions and demo sets proposed by an LM and searched with TPE (DSPy's
    ``MIPROv2``); ``prompt_model`` proposes, ``task_model`` runs the program."""

    kind = "mipro_v2"
    _lm_params = {"prompt_model": "proposer", "task_model": "task"}


class COPRO(Optimizer):
    """Instruction search by an LM in breadth × depth rounds (DSPy's ``COPRO``)."""

    kind = "copro"
    _lm_params = {"prompt_model": "proposer"}


class SIMBA(Optimizer):
    """Stochastic introspective mini-batch ascent: demos and rules from hard examples
    (DSPy's ``SIMBA``)."""

    kind = "simba"
    _lm_params = {"prompt_model": "proposer"}


class GEPA(Optimizer):
    """Reflective prompt evolution with a Pareto front (DSPy's ``GEPA``); ``reflection_lm``
    reflects on feedback. ``max_metric_calls`` is the budget."""

    kind = "gepa"
    _lm_params = {"reflection_lm": "proposer"}

    def __init__(self, metric: Callable[..., Any] | None = None, *, auto: str | None = None,
                 max_full_evals: int | None = None, max_metric_calls: int | None = None,
                 **params: Any) -> None:
        budgets = {k: v for k, v in {"auto": auto, "max_full_evals": max_full_evals,
                                     "max_metric_calls": max_metric_calls}.items() if v is not None}
        if len(budgets) != 1:
            raise TypeError(
                "GEPA needs exactly one budget: auto='light'|'medium'|'heavy', max_full_evals=N "
                f"or max_metric_calls=N (got {sorted(budgets) or 'none'})"
            )
        super().__init__(metric, budget=budgets, **params)


def _accept_all(example: Any, pred: Any, trace: Any = None) -> bool:
    return True


def optimizers() -> list[dict[str, Any]]:
    """Every optimizer hone has: name, aliases, description and parameters."""
    kinds = _hone.optimizer_kinds()
    return kinds["optimizers"] if isinstance(kinds, dict) else kinds
