"""Optimizers that act at call time, with DSPy's names: ``KNNFewShot`` (the training examples
nearest to each call's inputs, bootstrapped into demos for that call) and ``Ensemble`` (several
programs answer, ``reduce_fn`` picks one answer), plus ``Embedder`` and ``majority``.

Their logic is hone's core — DSPy's embedding text and nearest-neighbour ranking, the
``BootstrapFewShot`` optimizer, ``majority``, the ensemble's seeded subset — composed here with
your programs, which may be Python modules.

>>> knn = hone.KNNFewShot(k=3, trainset=train, vectorizer=hone.Embedder("text-embedding-3-small"))  # doctest: +SKIP
>>> program = knn.compile(Sentiment())                                  # doctest: +SKIP
>>> program(review="...", lm=lm)                                        # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Iterator, Sequence

from . import _hone
from ._wait import await_pending, wait
from .lm import LM
from .module import Module, NativeModule, _Call, _current, _jsonable
from .optimize import BootstrapFewShot, _accept_all
from .primitives import Example, Prediction, example_rows


class Embedder:
    """Texts to vectors, as DSPy's ``dspy.Embedder``: ``model`` is the name of an embedding
    model served by an OpenAI-compatible ``/v1/embeddings`` (keyword arguments are
    ``hone.LM``'s: ``base_url``, ``api_key_env``, ...), an ``hone.LM``, or a callable taking a
    list of texts and returning one vector per text (a sentence-transformers ``encode``, say).

    >>> embed = hone.Embedder("text-embedding-3-small", base_url="http://127.0.0.1:8080/v1")  # doctest: +SKIP
    >>> embed(["a review", "another"])                                     # doctest: +SKIP
    [[0.01, ...], [0.2, ...]]
    """

    def __init__(self, model: str | LM | Callable[[list[str]], Any], *, batch_size: int = 200,
                 caching: bool = True, **kwargs: Any) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.batch_size = batch_size
        self._function: Callable[[list[str]], Any] | None = None
        self._lm: LM | None = None
        if isinstance(model, LM):
            if kwargs:
                raise TypeError(f"Embedder got an LM and LM settings {sorted(kwargs)}; set them on the LM")
            self._lm = model
        elif isinstance(model, str):
            self._lm = LM(model, cache=caching, **kwargs)
        elif callable(model):
            if kwargs:
                raise TypeError(f"Embedder got a function and LM settings {sorted(kwargs)}")
            self._function = model
        else:
            raise TypeError(
                f"Embedder needs a model name, a hone.LM or a function, not {type(model).__name__}"
            )

    def __call__(self, texts: str | Sequence[str]) -> Any:
        """The vectors of ``texts`` (one vector for a single string)."""
        single, batches = self._batches(texts)
        vectors: list[list[float]] = []
        for part in batches:
            if self._function is not None:
                vectors.extend(_as_vectors(self._function(part), len(part)))
            else:
                vectors.extend(wait(self._embed(part)))
        return vectors[0] if single else vectors

    async def acall(self, texts: str | Sequence[str]) -> Any:
        """``__call__`` on the running event loop."""
        single, batches = self._batches(texts)
        vectors: list[list[float]] = []
        for part in batches:
            if self._function is not None:
                out = self._function(part)
                if asyncio.iscoroutine(out):
                    out = await out
                vectors.extend(_as_vectors(out, len(part)))
            else:
                vectors.extend(await await_pending(self._embed(part)))
        return vectors[0] if single else vectors

    def _batches(self, texts: str | Sequence[str]) -> tuple[bool, list[list[str]]]:
        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        return single, [batch[i:i + self.batch_size] for i in range(0, len(batch), self.batch_size)]

    def _embed(self, texts: list[str]) -> _hone.Pending:
        assert self._lm is not None
        return self._lm._lm.embed(texts)


def _as_vectors(out: Any, expected: int) -> list[list[float]]:
    rows = out.tolist() if hasattr(out, "tolist") else out
    vectors = [list(map(float, row.tolist() if hasattr(row, "tolist") else row)) for row in rows]
    if len(vectors) != expected:
        raise ValueError(f"the embedding function returned {len(vectors)} vector(s) for {expected} text(s)")
    return vectors


def _embedder(vectorizer: Any) -> Embedder:
    if isinstance(vectorizer, Embedder):
        return vectorizer
    if vectorizer is None:
        raise TypeError("KNNFewShot needs a vectorizer: vectorizer=hone.Embedder('embedding-model')")
    return Embedder(vectorizer)


class KNNFewShot:
    """DSPy's ``KNNFewShot(k, trainset, vectorizer, **few_shot_bootstrap_args)``: at each call,
    the ``k`` training examples nearest to the call's inputs (by their embeddings) are compiled
    into demos with ``BootstrapFewShot(**few_shot_bootstrap_args)`` and the student answers with
    them. ``compile(student)`` returns that program; the student is unchanged.

    ``few_shot_bootstrap_args`` are ``BootstrapFewShot``'s (``metric``, ``metric_threshold``,
    ``max_bootstrapped_demos``, ``max_labeled_demos``, ``max_rounds``, ``teacher_settings``,
    ``num_threads``); without a ``metric`` every teacher run that produced outputs is kept, as in
    DSPy. As in DSPy, every call bootstraps anew; an LM with its response cache on makes repeated
    neighbourhoods cheap.
    """

    def __init__(self, k: int, trainset: Sequence[Any], vectorizer: Any,
                 **few_shot_bootstrap_args: Any) -> None:
        if k < 1:
            raise ValueError(f"KNNFewShot needs k of at least 1, not {k}")
        rows, keys = example_rows(trainset, "trainset")
        if not rows:
            raise ValueError("KNNFewShot needs a non-empty trainset to search")
        self.k = k
        self.trainset = [Example(row).with_inputs(*ks) for row, ks in zip(rows, keys)]
        self._texts = [_hone.knn_embedding_text(row, ks) for row, ks in zip(rows, keys)]
        self.vectorizer = _embedder(vectorizer)
        self.few_shot_bootstrap_args = dict(few_shot_bootstrap_args)
        self._bootstrap()  # unknown or invalid arguments are errors now, not at the first call

    def _bootstrap(self) -> BootstrapFewShot:
        args = dict(self.few_shot_bootstrap_args)
        metric = args.pop("metric", None) or _accept_all
        return BootstrapFewShot(metric=metric, **args)

    def compile(self, student: Module, *, teacher: Any = None, trainset: Any = None) -> KNNProgram:
        """The student answering each call with demos bootstrapped from its neighbours."""
        if not isinstance(student, Module):
            raise TypeError(f"the student must be a hone.Module, not {type(student).__name__}")
        if teacher is not None:
            raise TypeError(
                "hone's optimizers bootstrap with a teacher LM, not a teacher program: pass "
                "teacher_settings={'lm': hone.LM(...)} to KNNFewShot"
            )
        if trainset is not None:
            raise TypeError("KNNFewShot takes its trainset when it is made: KNNFewShot(k, trainset, vectorizer)")
        return KNNProgram(student.deepcopy(), self)


class KNNProgram(Module):
    """What ``KNNFewShot.compile`` returns: the student, whose predictors it lists, saves and
    loads as its own, answering each call with the demos its neighbours bootstrap."""

    def __init__(self, student: Module, knn: KNNFewShot) -> None:
        super().__init__()
        self._student = student
        self._knn = knn
        self._vectors: list[list[float]] | None = None
        self._lock = threading.Lock()

    def _named_natives(self, prefix: str = "", seen: set[int] | None = None) -> Iterator[tuple[str, NativeModule]]:
        return self._student._named_natives(prefix, seen)

    def __deepcopy__(self, memo: dict) -> KNNProgram:
        out = KNNProgram(self._student.deepcopy(), self._knn)
        out._vectors = self._vectors
        memo[id(self)] = out
        return out

    def neighbors(self, **inputs: Any) -> list[Example]:
        """The ``k`` training examples nearest to ``inputs``, nearest first."""
        knn = self._knn
        with self._lock:
            if self._vectors is None:
                self._vectors = knn.vectorizer(knn._texts)
        query = knn.vectorizer(_hone.knn_embedding_text(_jsonable(inputs), None))
        return [knn.trainset[i] for i in _hone.knn_top_k(self._vectors, query, knn.k)]

    def forward(self, **inputs: Any) -> Any:
        call = _current.get()
        assert call is not None, "forward runs inside a call"
        neighbors = self.neighbors(**inputs)
        lm = call.ctx.lm()
        run = self._knn._bootstrap()._start(self._student, neighbors, None, lm, call.ctx.without_trace(),
                                            None, {})
        compiled = run.drive()
        # The compiled copy answers under the student's predictor names.
        names = dict(call.names)
        for (_, original), (_, copy) in zip(self._student._named_natives(), compiled._named_natives()):
            if id(original) in names:
                names[id(copy)] = names[id(original)]
        token = _current.set(_Call(call.ctx, names))
        try:
            return compiled.forward(**inputs)
        finally:
            _current.reset(token)


def majority(prediction_or_completions: Sequence[Any], normalize: Any = None,
             field: str | None = None) -> Prediction:
    """DSPy's ``dspy.majority``: the prediction whose ``field`` (default: its last field) is the
    most common after DSPy's text normalisation (lower case, no punctuation or articles); ties
    go to the earliest. Empty answers count only when every answer is empty."""
    if normalize is not None:
        raise TypeError(
            "hone.majority normalises answers as DSPy's default does; for another rule pass "
            "your own reduce_fn to Ensemble"
        )
    predictions = list(prediction_or_completions)
    fields = [{k: _jsonable(v) for k, v in dict(p.items()).items()} for p in predictions]
    index = _hone.majority(fields, field)
    if index is None:
        raise ValueError("majority needs at least one prediction")
    winner = predictions[index]
    return winner if isinstance(winner, Prediction) else Prediction(dict(winner.items()))


class Ensemble:
    """DSPy's ``Ensemble(reduce_fn=None, size=None)``: ``compile(programs)`` returns a program
    that runs the programs on each call (``size`` of them when given) and returns
    ``reduce_fn(outputs)`` — ``hone.majority`` for a vote — or the list of outputs without one.

    The subset of ``size`` programs is drawn from ``seed`` and the call's inputs, so the same
    inputs always get the same subset (DSPy draws at random and has no deterministic mode).
    ``deterministic`` is DSPy's argument, kept so DSPy code runs unchanged; hone's subset is
    deterministic either way.
    """

    def __init__(self, *, reduce_fn: Callable[[list[Any]], Any] | None = None, size: int | None = None,
                 deterministic: bool = False, seed: int = 0) -> None:
        if size is not None and size < 1:
            raise ValueError(f"Ensemble needs size of at least 1, not {size}")
        self.reduce_fn = reduce_fn
        self.size = size
        self.deterministic = deterministic
        self.seed = seed

    def compile(self, programs: Sequence[Module]) -> EnsembledProgram:
        """One program over copies of ``programs``."""
        programs = list(programs)
        if not programs:
            raise ValueError("Ensemble needs at least one program")
        for i, p in enumerate(programs):
            if not isinstance(p, Module):
                raise TypeError(f"programs[{i}] must be a hone.Module, not {type(p).__name__}")
        return EnsembledProgram([p.deepcopy() for p in programs], self.reduce_fn, self.size, self.seed)


class EnsembledProgram(Module):
    """What ``Ensemble.compile`` returns; its predictors are named ``programs[i].…`` as in DSPy."""

    def __init__(self, programs: list[Module], reduce_fn: Callable[[list[Any]], Any] | None,
                 size: int | None, seed: int) -> None:
        super().__init__()
        self.programs = programs
        self._reduce_fn = reduce_fn
        self._size = size
        self._seed = seed

    def _chosen(self, inputs: dict[str, Any]) -> list[Module]:
        picked = _hone.ensemble_subset(len(self.programs), self._size, self._seed, _jsonable(inputs))
        return [self.programs[i] for i in picked]

    def _reduce(self, outputs: list[Any]) -> Any:
        return self._reduce_fn(outputs) if self._reduce_fn is not None else outputs

    def forward(self, **inputs: Any) -> Any:
        return self._reduce([p(**inputs) for p in self._chosen(inputs)])

    async def aforward(self, **inputs: Any) -> Any:
        outputs = await asyncio.gather(*(p.acall(**inputs) for p in self._chosen(inputs)))
        return self._reduce(list(outputs))
