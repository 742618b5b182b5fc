"""Type stubs of ``hone._hone``, the native core of hone's Python package. Use the public API
in ``hone`` (``hone.LM``, ``hone.Predict``, ...); this module is its implementation."""

from typing import Any, Callable, Literal

__version__: str

class HoneError(Exception): ...
class NoLMError(HoneError): ...
class LMError(HoneError): ...
class AdapterParseError(HoneError): ...
class InputError(HoneError): ...
class SignatureError(HoneError): ...
class StateError(HoneError): ...
class EvaluationError(HoneError): ...

class Pending:
    """A call running on hone's runtime; ``fd`` becomes readable when it is done."""

    @property
    def fd(self) -> int: ...
    def done(self) -> bool: ...
    def result(self) -> Any: ...
    def cancel(self) -> bool: ...

class Lm:
    """An LM: an OpenAI-compatible HTTP client or a Python callable, with hone's layers."""

    @staticmethod
    def http(
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        api_key: str | None = None,
        cache: bool | str | None = None,
        max_in_flight: int | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        num_retries: int | None = None,
        headers: dict[str, str] | None = None,
        defaults: dict[str, Any] | None = None,
    ) -> Lm: ...
    @staticmethod
    def from_callable(
        function: Callable[[dict[str, Any]], Any],
        *,
        model: str,
        cache: bool = True,
        max_in_flight: int | None = None,
    ) -> Lm: ...
    @property
    def model(self) -> str: ...
    def usage(self) -> dict[str, Any]: ...
    def reset_usage(self) -> None: ...

class Ctx:
    """The context of one call: its LM, adapter, cache policy and sampling settings."""

    def __init__(
        self,
        *,
        lm: Lm | None = None,
        adapter: Literal["chat", "json", "xml"] | None = None,
        cache: bool = True,
        config: dict[str, Any] | None = None,
        trace: bool = False,
    ) -> None: ...
    def child(self, name: str) -> Ctx: ...
    def with_lm(self, lm: Lm) -> Ctx: ...
    def has_lm(self) -> bool: ...
    @property
    def path(self) -> str: ...
    def trace(self) -> list[dict[str, Any]]: ...
    def usage(self) -> dict[str, dict[str, int]]: ...

class Native:
    """One of hone's modules: ``predict``, ``chain_of_thought``, ``react``,
    ``multi_chain_comparison``, ``best_of_n`` or ``refine``."""

    def __init__(
        self,
        kind: str,
        signature: str | dict[str, Any] | None = None,
        *,
        config: dict[str, Any] | None = None,
        tools: list[Any] | None = None,
        max_iters: int | None = None,
        tool_timeout: float | None = None,
        m: int | None = None,
        inner: Any = None,
        n: int | None = None,
        reward: Callable[[dict[str, Any], dict[str, Any]], float] | None = None,
        threshold: float | None = None,
        fail_count: int | None = None,
        program_code: str | None = None,
        reward_code: str | None = None,
    ) -> None: ...
    def submit(self, inputs: dict[str, Any], ctx: Ctx) -> Pending: ...
    def predictor_names(self) -> list[str]: ...
    def signature(self, name: str) -> dict[str, Any]: ...
    def dump_state(self) -> dict[str, Any]: ...
    def load_state(self, state: dict[str, Any] | str) -> None: ...
    def set_lm(self, lm: Lm | None) -> None: ...
    def set_demos(self, name: str, demos: list[dict[str, Any]]) -> None: ...
    def copy(self) -> Native: ...
    @property
    def module_name(self) -> str: ...

def parse_signature(spec: str | dict[str, Any]) -> dict[str, Any]: ...
def evaluate(
    program: Any,
    devset: list[dict[str, Any]],
    input_keys: list[list[str]],
    metric: Callable[[dict[str, Any], dict[str, Any]], tuple[float, str | None]],
    metric_name: str,
    ctx: Ctx,
    *,
    num_threads: int = 8,
    max_errors: int | None = None,
    failure_score: float = 0.0,
) -> Pending: ...
def dump_program(parts: list[tuple[str, Native]], dspy: bool) -> str: ...
def load_program(parts: list[tuple[str, Native]], text: str) -> None: ...
def parallel(
    pairs: list[tuple[Any, dict[str, Any]]],
    ctx: Ctx,
    *,
    num_threads: int = 8,
    max_errors: int | None = 10,
) -> Pending: ...
def set_log_level(level: int) -> None: ...
def export_program(
    parts: list[tuple[str, Native]],
    format: str,
    *,
    adapter: str = "chat",
    title: str = "program",
    provenance: dict[str, Any] | None = None,
) -> Any: ...
def diff_program(
    old: list[tuple[str, Native]],
    new: list[tuple[str, Native]],
    *,
    format: str = "text",
    old_name: str = "a",
    new_name: str = "b",
    color: bool = False,
) -> tuple[str, bool]: ...

class Run:
    """An optimization run: an optimizer of the catalogue with the executor of its jobs."""

    @property
    def optimizer(self) -> str: ...
    def ask(self) -> list[dict[str, Any]]: ...
    def pending(self) -> list[dict[str, Any]]: ...
    def execute(self, job: dict[str, Any]) -> Pending: ...
    def tell(self, result: dict[str, Any]) -> str: ...
    def is_done(self) -> bool: ...
    def best(self) -> str | None: ...
    def state(self) -> dict[str, Any]: ...
    def log(self) -> dict[str, Any]: ...
    def drive(self, checkpoint: str | None = None) -> Pending: ...

def start(
    kind: str,
    params: dict[str, Any],
    student: Any,
    parts: list[tuple[str, Native]],
    trainset: list[dict[str, Any]],
    train_keys: list[list[str]],
    valset: list[dict[str, Any]] | None,
    val_keys: list[list[str]] | None,
    metric: Callable[..., tuple[float, str | None]],
    metric_name: str,
    lms: dict[str, Lm],
    ctx: Ctx,
    *,
    concurrency: int = 8,
) -> Run: ...
def restore(
    state: dict[str, Any],
    student: Any,
    metric: Callable[..., tuple[float, str | None]],
    metric_name: str,
    lms: dict[str, Lm],
    ctx: Ctx,
    *,
    concurrency: int = 8,
) -> Run: ...
def optimizer_kinds() -> Any: ...

class Executor:
    """Runs optimizer jobs in this process."""

    def __init__(
        self,
        student: Any,
        metric: Callable[..., tuple[float, str | None]],
        metric_name: str,
        lms: dict[str, Lm],
        ctx: Ctx,
        *,
        concurrency: int = 8,
    ) -> None: ...
    def execute(self, job: dict[str, Any]) -> Pending: ...
def shutdown() -> None: ...
