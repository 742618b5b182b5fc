"""Modules: ``hone.Module`` (your own ``forward`` in Python, calling other modules) and hone's
built-in modules with DSPy's names, each a thin shell over the same module in hone's core.

LM binding: a call's ``lm=`` reaches every predictor the call runs (it is carried by the call,
in a context variable scoped to that call — concurrent calls never see each other's LM); a
predictor without one uses its own (``set_lm``); there is no process-wide default.
"""

from __future__ import annotations

import contextvars
import copy
import inspect
import json
import os
from typing import Any, Callable, Iterator

from . import _hone
from ._wait import await_pending, run_blocking, wait
from .lm import core_lm
from .primitives import Example, Prediction
from .signatures import Signature, _from_core, ensure_signature

_ROOT = "self"


class _Call:
    """The context of the call running now: hone's call context and the predictor names."""

    __slots__ = ("ctx", "names")

    def __init__(self, ctx: _hone.Ctx, names: dict[int, str]) -> None:
        self.ctx = ctx
        self.names = names


_current: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("hone_call", default=None)


def _adapter_name(adapter: Any) -> str | None:
    if adapter is None:
        return None
    if isinstance(adapter, str):
        return adapter
    name = getattr(adapter, "name", None)
    if isinstance(name, str):
        return name
    raise TypeError(f"unknown adapter {adapter!r}; use hone.ChatAdapter(), hone.JSONAdapter(), hone.XMLAdapter() or hone.BAMLAdapter()")


def _jsonable(value: Any) -> Any:
    """Inputs as plain values: pydantic models dumped, enums by value, Examples as dicts."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    import enum

    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Example):
        return _jsonable(value.toDict())
    return value


def _start_call(module: Module, lm: Any, adapter: Any, config: dict | None, cache: bool | None) -> _Call:
    parent = _current.get()
    if parent is None:
        return _Call(_top_ctx(lm, adapter, config, cache), _names_of(module))
    if lm is not None:
        return _Call(parent.ctx.with_lm(core_lm(lm)), parent.names)
    return parent


def _top_ctx(lm: Any, adapter: Any, config: dict | None, cache: bool | None) -> _hone.Ctx:
    """The context of a call made from outside any other: it records its predictor calls, so
    the prediction can tell its LM usage (``get_lm_usage()``)."""
    return _hone.Ctx(
        lm=core_lm(lm),
        adapter=_adapter_name(adapter),
        cache=True if cache is None else cache,
        config=config,
        trace=True,
    )


def _with_usage(out: Any, call: _Call, top: bool) -> Any:
    if top and isinstance(out, Prediction):
        object.__setattr__(out, "_lm_usage", call.ctx.usage())
    return out


def _names_of(root: Module) -> dict[int, str]:
    return {id(m): path for path, m in root._named_natives()}


class Module:
    """A program: subclass it, create sub-modules in ``__init__`` and write ``forward``.

    >>> class RAG(hone.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.answer = hone.ChainOfThought("context, question -> answer")
    ...     def forward(self, question):
    ...         return self.answer(context=search(question), question=question)
    >>> RAG()(question="...", lm=hone.LM("gpt-4o-mini"))          # doctest: +SKIP

    ``await program.acall(...)`` runs ``aforward`` when the class defines it, else ``forward``
    on a worker thread; either way the event loop is never blocked.
    """

    def __init__(self) -> None:
        pass

    # -- calling ---------------------------------------------------------------------------
    def __call__(self, *args: Any, lm: Any = None, adapter: Any = None, config: dict | None = None,
                 cache: bool | None = None, **kwargs: Any) -> Any:
        top = _current.get() is None
        call = _start_call(self, lm, adapter, config, cache)
        token = _current.set(call)
        try:
            return _with_usage(self.forward(*args, **kwargs), call, top)
        finally:
            _current.reset(token)

    async def acall(self, *args: Any, lm: Any = None, adapter: Any = None,
                    config: dict | None = None, cache: bool | None = None, **kwargs: Any) -> Any:
        """The call as a coroutine."""
        top = _current.get() is None
        call = _start_call(self, lm, adapter, config, cache)
        token = _current.set(call)
        try:
            aforward = getattr(type(self), "aforward", None)
            if aforward is not None and aforward is not Module.aforward:
                return _with_usage(await self.aforward(*args, **kwargs), call, top)
            context = contextvars.copy_context()
            out = await run_blocking(lambda: context.run(self.forward, *args, **kwargs))
            return _with_usage(out, call, top)
        finally:
            _current.reset(token)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, ...)")

    async def aforward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def _hone_forward(self, inputs: dict, ctx: _hone.Ctx) -> dict:
        """Runs ``forward`` for hone's core (evaluation, BestOfN over a Python module)."""
        token = _current.set(_Call(ctx, _names_of(self)))
        try:
            out = self.forward(**inputs)
        finally:
            _current.reset(token)
        if isinstance(out, Example):
            return {k: _jsonable(v) for k, v in out.items()}
        if isinstance(out, dict):
            return {k: _jsonable(v) for k, v in out.items()}
        raise TypeError(
            f"{type(self).__name__}.forward must return a hone.Prediction (or a dict), not "
            f"{type(out).__name__}"
        )

    # -- structure -------------------------------------------------------------------------
    def _named_natives(self, prefix: str = "", seen: set[int] | None = None) -> Iterator[tuple[str, NativeModule]]:
        seen = set() if seen is None else seen
        if id(self) in seen:
            return
        seen.add(id(self))
        if isinstance(self, NativeModule):
            yield prefix, self
            return
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            path = f"{prefix}.{name}" if prefix else name
            items: list[tuple[str, Any]]
            if isinstance(value, Module):
                items = [(path, value)]
            elif isinstance(value, (list, tuple)):
                items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
            elif isinstance(value, dict):
                items = [(f"{path}['{k}']", v) for k, v in value.items()]
            else:
                continue
            for sub_path, sub in items:
                if isinstance(sub, Module):
                    yield from sub._named_natives(sub_path, seen)

    def named_predictors(self) -> list[tuple[str, Predictor]]:
        """The predictors, named as DSPy names them (``answer.predict``)."""
        out = []
        for path, native in self._named_natives():
            for sub in native._native.predictor_names():
                out.append((_join(path, sub), Predictor(native, sub)))
        return out

    def predictors(self) -> list[Predictor]:
        return [p for _, p in self.named_predictors()]

    def named_sub_modules(self) -> list[tuple[str, Module]]:
        return [(p or _ROOT, m) for p, m in self._named_natives()]

    # -- LMs ---------------------------------------------------------------------------------
    def set_lm(self, lm: Any) -> None:
        """Sets the LM of every predictor in this module (``None`` clears them)."""
        for _, native in self._named_natives():
            native._native.set_lm(core_lm(lm))
            native._lm = lm

    def get_lm(self) -> Any:
        lms = {id(n._lm): n._lm for _, n in self._named_natives() if n._lm is not None}
        if len(lms) == 1:
            return next(iter(lms.values()))
        if not lms:
            return None
        raise ValueError("the predictors of this module use different LMs")

    # -- state -------------------------------------------------------------------------------
    def _parts(self) -> list[tuple[str, _hone.Native]]:
        return [(path, native._native) for path, native in self._named_natives()]

    def dump_state(self, format: str = "hone") -> dict[str, Any]:
        """The state (instructions, fields, demos per predictor) as a dict."""
        return json.loads(_hone.dump_program(self._parts(), format == "dspy"))

    def load_state(self, state: dict[str, Any] | str) -> Module:
        """Loads a state (hone's or DSPy's saved form); nothing changes if it does not fit."""
        text = state if isinstance(state, str) else json.dumps(state)
        _hone.load_program(self._parts(), text)
        return self

    def save(self, path: str | os.PathLike, *, format: str = "dspy") -> None:
        """Writes the state as JSON, in DSPy's format (``program.load`` in DSPy reads it) or
        hone's (``format="hone"``: DSPy's plus hone's own keys)."""
        text = _hone.dump_program(self._parts(), format == "dspy")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def load(self, path: str | os.PathLike) -> Module:
        """Reads a state saved by hone or by DSPy's ``program.save``."""
        with open(path, encoding="utf-8") as f:
            _hone.load_program(self._parts(), f.read())
        return self

    def _hone_candidate(self, state: str) -> Module:
        """A copy with ``state`` (hone's JSON) loaded: a candidate an optimizer tries."""
        out = self.deepcopy()
        out.load_state(state)
        return out

    def deepcopy(self) -> Module:
        """An independent copy: its own demos and instructions; LMs are shared."""
        return copy.deepcopy(self)

    def reset_copy(self) -> Module:
        out = self.deepcopy()
        for p in out.predictors():
            p.demos = []
        return out


def _join(path: str, sub: str) -> str:
    if not path:
        return sub
    if sub == _ROOT:
        return path
    return f"{path}.{sub}"


class Predictor:
    """One predictor inside a module, as ``named_predictors()`` lists it: its signature and
    demos, readable and settable."""

    def __init__(self, owner: NativeModule, name: str) -> None:
        self._owner = owner
        self._name = name

    @property
    def signature(self) -> type[Signature]:
        return _from_core(self._owner._native.signature(self._name))

    @property
    def demos(self) -> list[Example]:
        state = json.loads(_hone.dump_program([("", self._owner._native)], False))
        entry = state.get(self._name, state if self._name == _ROOT else {})
        return [Example(d) for d in entry.get("demos", [])]

    @demos.setter
    def demos(self, demos: list[Any]) -> None:
        self._owner._native.set_demos(self._name, [_jsonable(dict(d)) for d in demos])

    def set_lm(self, lm: Any) -> None:
        self._owner.set_lm(lm)

    def __repr__(self) -> str:
        return f"Predictor({self._name!r}, {self.signature.signature})"


class NativeModule(Module):
    """A module of hone's core (``Predict``, ``ChainOfThought``, ...)."""

    _native: _hone.Native
    _lm: Any = None
    _signature: type[Signature] | None = None

    def __call__(self, *args: Any, lm: Any = None, adapter: Any = None, config: dict | None = None,
                 cache: bool | None = None, **kwargs: Any) -> Prediction:
        if args:
            raise TypeError(
                f"{type(self).__name__} takes its inputs by name, e.g. predict(question='...')"
            )
        pending, ctx = self._submit(lm, adapter, config, cache, kwargs)
        return self._prediction(wait(pending), ctx)

    async def acall(self, *args: Any, lm: Any = None, adapter: Any = None,
                    config: dict | None = None, cache: bool | None = None, **kwargs: Any) -> Prediction:
        if args:
            raise TypeError(
                f"{type(self).__name__} takes its inputs by name, e.g. predict(question='...')"
            )
        pending, ctx = self._submit(lm, adapter, config, cache, kwargs)
        return self._prediction(await await_pending(pending), ctx)

    def forward(self, **kwargs: Any) -> Prediction:
        return self(**kwargs)

    def _submit(self, lm: Any, adapter: Any, config: dict | None, cache: bool | None,
                inputs: dict[str, Any]) -> tuple[_hone.Pending, _hone.Ctx | None]:
        """Starts the call; the context is returned for a top-level call (its usage)."""
        parent = _current.get()
        top = None
        if parent is None:
            ctx = top = _top_ctx(lm, adapter, config, cache)
        else:
            ctx = parent.ctx
            path = parent.names.get(id(self))
            if path:
                ctx = ctx.child(path)
            if lm is not None:
                ctx = ctx.with_lm(core_lm(lm))
        return self._native.submit({k: _jsonable(v) for k, v in inputs.items()}, ctx), top

    def _prediction(self, fields: dict[str, Any], ctx: _hone.Ctx | None = None) -> Prediction:
        sig = self._signature
        if sig is not None:
            for name, info in sig.output_fields.items():
                if name in fields:
                    fields[name] = _to_python_type(info.annotation, fields[name])
        out = Prediction(fields)
        if ctx is not None:
            object.__setattr__(out, "_lm_usage", ctx.usage())
        return out

    def __deepcopy__(self, memo: dict) -> NativeModule:
        out = object.__new__(type(self))
        memo[id(self)] = out
        for key, value in vars(self).items():
            if key == "_native":
                out._native = value.copy()
            elif key == "_lm" or isinstance(value, _hone.Lm):
                setattr(out, key, value)
            else:
                setattr(out, key, copy.deepcopy(value, memo))
        return out

    @property
    def signature(self) -> type[Signature]:
        names = self._native.predictor_names()
        return _from_core(self._native.signature(names[0]))

    def __getattr__(self, name: str) -> Any:
        # DSPy's attribute paths to inner predictors: ``cot.predict``, ``react.extract.predict``.
        if name.startswith("_"):
            raise AttributeError(name)
        view = _predictor_path(self, name)
        if view is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return view

    @property
    def lm(self) -> Any:
        return self._lm

    @lm.setter
    def lm(self, lm: Any) -> None:
        self.set_lm(lm)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.signature.signature})"


class _PredictorPath:
    """A step on the way to an inner predictor (``react.extract`` in ``react.extract.predict``)."""

    def __init__(self, owner: NativeModule, prefix: str) -> None:
        self._owner = owner
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        view = _predictor_path(self._owner, f"{self._prefix}.{name}")
        if view is None:
            raise AttributeError(f"{self._prefix!r} has no attribute {name!r}")
        return view


def _predictor_path(owner: NativeModule, path: str) -> Predictor | _PredictorPath | None:
    names = owner._native.predictor_names()
    if path in names:
        return Predictor(owner, path)
    if any(n.startswith(path + ".") for n in names):
        return _PredictorPath(owner, path)
    return None


def _to_python_type(annotation: Any, value: Any) -> Any:
    """Outputs typed with a pydantic model or an enum come back as those types, as in DSPy."""
    if isinstance(annotation, str) or annotation is None:
        return value
    try:
        import enum

        if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
            return annotation(value)
        if "pydantic" in type(annotation).__module__ or _mentions_model(annotation):
            from pydantic import TypeAdapter

            return TypeAdapter(annotation).validate_python(value)
    except Exception:
        return value
    return value


def _mentions_model(tp: Any) -> bool:
    import typing

    if inspect.isclass(tp) and hasattr(tp, "model_validate"):
        return True
    return any(_mentions_model(a) for a in typing.get_args(tp))


def _make(kind: str, signature: Any, **options: Any) -> _hone.Native:
    return _hone.Native(kind, signature, **options)


class Predict(NativeModule):
    """The basic predictor: a signature, demos, and an LM call (DSPy's ``dspy.Predict``)."""

    def __init__(self, signature: Any, **config: Any) -> None:
        super().__init__()
        self._signature = ensure_signature(signature)
        self._native = _make("predict", self._signature._hone, config=config or None)

    @property
    def demos(self) -> list[Example]:
        """The demos (``hone.Example``s) the prompt shows before the input."""
        return Predictor(self, _ROOT).demos

    @demos.setter
    def demos(self, demos: list[Any]) -> None:
        Predictor(self, _ROOT).demos = demos


class ChainOfThought(NativeModule):
    """``Predict`` with a ``reasoning`` output before the others (DSPy's ``dspy.ChainOfThought``)."""

    def __init__(self, signature: Any, **config: Any) -> None:
        super().__init__()
        self._signature = ensure_signature(signature)
        self._native = _make("chain_of_thought", self._signature._hone, config=config or None)


class MultiChainComparison(NativeModule):
    """Compares ``M`` attempts (``completions=[...]``) and answers once more."""

    def __init__(self, signature: Any, M: int = 3) -> None:  # noqa: N803 - DSPy's name
        super().__init__()
        self._signature = ensure_signature(signature)
        self._native = _make("multi_chain_comparison", self._signature._hone, m=M)

    def __call__(self, completions: list[Any] | None = None, **kwargs: Any) -> Prediction:  # type: ignore[override]
        if completions is not None:
            kwargs["completions"] = [dict(c) if isinstance(c, Example) else c for c in completions]
        return super().__call__(**kwargs)


class Tool:
    """A Python function as a ReAct tool: its name, docstring and argument types describe it
    to the LM. Raising inside it gives the LM an ``Execution error in <name>: ...`` observation."""

    def __init__(self, func: Callable[..., Any], name: str | None = None, desc: str | None = None,
                 args: dict[str, Any] | None = None) -> None:
        if not callable(func):
            raise TypeError(f"a tool must be callable, not {func!r}")
        self.func = func
        self.name = name or getattr(func, "__name__", type(func).__name__)
        self.desc = desc if desc is not None else inspect.cleandoc(getattr(func, "__doc__", None) or "")
        if args is None:
            args, required = _tool_args(func)
        else:
            required = list(args)
        self.args = args
        self.parameters = {"type": "object", "properties": args, "required": required}

    def __call__(self, **kwargs: Any) -> Any:
        return self.func(**kwargs)


def _tool_args(func: Callable[..., Any]) -> tuple[dict[str, Any], list[str]]:
    import typing

    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, param in inspect.signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        props[name] = _json_schema(hints.get(name, Any))
        if param.default is param.empty:
            required.append(name)
        else:
            props[name]["default"] = param.default
    return props, required


def _json_schema(tp: Any) -> dict[str, Any]:
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}
    if tp in simple:
        return {"type": simple[tp]}
    if tp is Any:
        return {}
    try:
        from pydantic import TypeAdapter

        return TypeAdapter(tp).json_schema()
    except Exception:
        return {}


class ReAct(NativeModule):
    """Reasoning and acting with tools (DSPy's ``dspy.ReAct``): Python functions (sync or
    async) or ``hone.Tool``s."""

    def __init__(self, signature: Any, tools: list[Any], max_iters: int = 20,
                 tool_timeout: float | None = None) -> None:
        super().__init__()
        self._signature = ensure_signature(signature)
        self.tools = {t.name: t for t in (t if isinstance(t, Tool) else Tool(t) for t in tools)}
        self._native = _make(
            "react",
            self._signature._hone,
            tools=list(self.tools.values()),
            max_iters=max_iters,
            tool_timeout=tool_timeout,
        )


def _reward(reward_fn: Callable[..., Any]) -> Callable[[dict, dict], float]:
    def reward(inputs: dict, prediction: dict) -> float:
        return float(reward_fn(inputs, Prediction(prediction)))

    return reward


class BestOfN(NativeModule):
    """Runs ``module`` up to ``N`` times (distinct rollouts) and keeps the best by
    ``reward_fn(args, pred)``, stopping at ``threshold`` (DSPy's ``dspy.BestOfN``)."""

    def __init__(self, module: Module, N: int, reward_fn: Callable[..., Any], threshold: float,  # noqa: N803
                 fail_count: int | None = None) -> None:
        super().__init__()
        self.module = module
        self._native = _hone.Native(
            "best_of_n", inner=module, n=N, reward=_reward(reward_fn), threshold=threshold,
            fail_count=fail_count,
        )


class Refine(NativeModule):
    """Like ``BestOfN``, and after a failed attempt the LM writes advice that the next
    attempt's predictors receive (DSPy's ``dspy.Refine``)."""

    def __init__(self, module: Module, N: int, reward_fn: Callable[..., Any], threshold: float,  # noqa: N803
                 fail_count: int | None = None) -> None:
        super().__init__()
        self.module = module
        self._native = _hone.Native(
            "refine", inner=module, n=N, reward=_reward(reward_fn), threshold=threshold,
            fail_count=fail_count, program_code=_source(type(module)),
            reward_code=_source(reward_fn),
        )


def _source(obj: Any) -> str | None:
    """The source code of ``obj`` as DSPy's ``Refine`` shows it to the LM, when Python has it."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return None


class Parallel:
    """Runs many ``(module, inputs)`` pairs at once with bounded concurrency (DSPy's
    ``dspy.Parallel``). Failed calls give ``None``; past ``max_errors`` failures the batch
    stops with the first error."""

    def __init__(self, num_threads: int = 8, max_errors: int | None = 10) -> None:
        self.num_threads = num_threads
        self.max_errors = max_errors

    def _pairs(self, exec_pairs: list[tuple[Module, Any]]) -> list[tuple[Any, dict]]:
        out = []
        for module, example in exec_pairs:
            if isinstance(example, Example):
                example = example.inputs() if example._input_keys is not None else example
                example = example.toDict()
            out.append((module, {k: _jsonable(v) for k, v in dict(example).items()}))
        return out

    def __call__(self, exec_pairs: list[tuple[Module, Any]], *, lm: Any = None) -> list[Prediction | None]:
        pending = _hone.parallel(self._pairs(exec_pairs), _hone.Ctx(lm=core_lm(lm)),
                                 num_threads=self.num_threads, max_errors=self.max_errors)
        return [None if r is None else Prediction(r) for r in wait(pending)]

    async def acall(self, exec_pairs: list[tuple[Module, Any]], *, lm: Any = None) -> list[Prediction | None]:
        pending = _hone.parallel(self._pairs(exec_pairs), _hone.Ctx(lm=core_lm(lm)),
                                 num_threads=self.num_threads, max_errors=self.max_errors)
        return [None if r is None else Prediction(r) for r in await await_pending(pending)]
