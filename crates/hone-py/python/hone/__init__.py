"""hone: program language models the DSPy way — signatures, modules, evaluation — on a Rust
runtime built for production.

No global state: an LM is a value passed to a call (``program(question=q, lm=lm)``), set on a
module or a predictor (``set_lm``); there is no ``configure``. Every callable works from
threads (the GIL is released while hone waits), from asyncio (``await program.acall(...)``),
from gevent greenlets (waits go through the hub) and in forked processes.

>>> import hone
>>> lm = hone.LM("gpt-4o-mini")                                   # doctest: +SKIP
>>> qa = hone.ChainOfThought("question -> answer")
>>> qa(question="What is 2 + 2?", lm=lm).answer                   # doctest: +SKIP
"""

from __future__ import annotations

import atexit as _atexit
import logging as _logging

from . import _hone
from ._hone import (
    AdapterParseError,
    EvaluationError,
    HoneError,
    InputError,
    LMError,
    NoLMError,
    SignatureError,
    StateError,
)
from .adapters import Adapter, BAMLAdapter, ChatAdapter, JSONAdapter, XMLAdapter
from .call_time import Embedder, Ensemble, KNNFewShot, majority
from .evaluate import Evaluate, EvaluationResult
from .export import Diff, diff, export
from .lm import LM
from .module import (
    BestOfN,
    ChainOfThought,
    Module,
    MultiChainComparison,
    Parallel,
    Predict,
    Predictor,
    ReAct,
    Refine,
    Tool,
)
from .optimize import (
    COPRO,
    GEPA,
    SIMBA,
    BootstrapFewShot,
    BootstrapFewShotWithOptuna,
    BootstrapFewShotWithRandomSearch,
    Executor,
    InferRules,
    LabeledFewShot,
    MIPROv2,
    Optimizer,
    Run,
    optimizers,
)
from .primitives import Example, Prediction
from .signatures import InputField, OutputField, Signature, ensure_signature, make_signature

__version__ = _hone.__version__

_logging.getLogger("hone").addHandler(_logging.NullHandler())
_hone.set_log_level(_logging.getLogger("hone").getEffectiveLevel())
# Calls still running on hone's runtime stop before the interpreter finalizes.
_atexit.register(_hone.shutdown)

__all__ = [
    "COPRO",
    "GEPA",
    "LM",
    "SIMBA",
    "BootstrapFewShot",
    "BootstrapFewShotWithOptuna",
    "BootstrapFewShotWithRandomSearch",
    "Embedder",
    "Ensemble",
    "InferRules",
    "KNNFewShot",
    "LabeledFewShot",
    "MIPROv2",
    "Optimizer",
    "Run",
    "optimizers",
    "Adapter",
    "AdapterParseError",
    "BAMLAdapter",
    "BestOfN",
    "ChainOfThought",
    "ChatAdapter",
    "Diff",
    "Evaluate",
    "Executor",
    "EvaluationError",
    "EvaluationResult",
    "Example",
    "HoneError",
    "InputError",
    "InputField",
    "JSONAdapter",
    "LMError",
    "Module",
    "MultiChainComparison",
    "NoLMError",
    "OutputField",
    "Parallel",
    "Predict",
    "Prediction",
    "Predictor",
    "ReAct",
    "Refine",
    "Signature",
    "SignatureError",
    "StateError",
    "Tool",
    "XMLAdapter",
    "diff",
    "ensure_signature",
    "export",
    "majority",
    "make_signature",
]
