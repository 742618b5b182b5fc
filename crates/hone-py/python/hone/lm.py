"""``hone.LM``: an LM is a value — passed to a call, set on a module or on a predictor. There
is no ``configure`` and no process-wide default."""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any, Callable

from . import _hone

_SAMPLING = ("temperature", "top_p", "max_tokens", "seed")


class LM:
    """An OpenAI-compatible chat model, or your own client.

    ``hone.LM("gpt-4o-mini")`` talks to ``base_url`` (default ``OPENAI_BASE_URL``, else
    OpenAI) with the key from the variable ``api_key_env`` names (default ``OPENAI_API_KEY``,
    sent only when set; a variable you name must be set), with
    retries, a response cache, limits and usage. ``hone.LM(client=fn)`` makes your own
    function the LM: it gets the ``chat.completions`` request as a dict and returns the
    response (a dict or an ``openai`` response object); sync or ``async``. hone still renders,
    parses and caches.

    >>> lm = hone.LM("gpt-4o-mini", temperature=0.0, max_tokens=512)      # doctest: +SKIP
    >>> qa(question="...", lm=lm)                                         # doctest: +SKIP

    ``api_base`` is DSPy's name for ``base_url``, and a leading ``openai/`` on the model
    (LiteLLM's provider prefix) is dropped, so DSPy's ``dspy.LM(...)`` lines work unchanged.

    Keyword arguments: ``cache`` (True: in memory, False: off, a path: SQLite on disk),
    ``max_in_flight`` (requests on the wire at once), ``timeout`` and ``connect_timeout`` in
    seconds, ``num_retries`` (retries of failed requests; 0 turns retrying off), ``headers``;
    ``temperature``, ``top_p``, ``max_tokens``, ``seed`` and any other keyword are request
    defaults.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_base: str | None = None,
        api_key_env: str | None = None,
        api_key: str | None = None,
        client: Callable[[dict], Any] | None = None,
        cache: bool | str | os.PathLike = True,
        max_in_flight: int | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        num_retries: int | None = None,
        headers: dict[str, str] | None = None,
        **defaults: Any,
    ) -> None:
        # hone's log records follow the `hone` logger's level as it is now.
        _hone.set_log_level(logging.getLogger("hone").getEffectiveLevel())
        if client is not None:
            if not callable(client):
                raise TypeError("`client` must be a callable taking the request dict")
            name = model or getattr(client, "__name__", "callable")
            self._lm = _hone.Lm.from_callable(
                client, model=name, cache=bool(cache), max_in_flight=max_in_flight
            )
        else:
            if not model:
                raise TypeError("hone.LM needs a model name, e.g. hone.LM('gpt-4o-mini')")
            if model.startswith("openai/"):
                model = model[len("openai/") :]
            if base_url is not None and api_base is not None and base_url != api_base:
                raise TypeError("pass the server's URL once: base_url= (or DSPy's name, api_base=)")
            base_url = base_url if base_url is not None else api_base
            self._lm = _hone.Lm.http(
                model,
                base_url=base_url,
                api_key_env=api_key_env,
                api_key=api_key,
                cache=cache,
                max_in_flight=max_in_flight,
                timeout=timeout,
                connect_timeout=connect_timeout,
                num_retries=num_retries,
                headers=headers,
                defaults=defaults,
            )
        self.model = self._lm.model
        self.kwargs = dict(defaults)
        self.is_async_client = client is not None and inspect.iscoroutinefunction(client)

    def usage(self) -> dict[str, Any]:
        """Usage of every call through this LM so far: ``calls``, ``cached_calls``,
        ``failed_calls``, ``prompt_tokens``, ``completion_tokens``, ``cost_usd``."""
        return self._lm.usage()

    def reset_usage(self) -> None:
        """Sets the usage counters back to zero."""
        self._lm.reset_usage()

    def __repr__(self) -> str:
        return repr(self._lm)


def core_lm(lm: Any) -> Any:
    """The native LM of ``lm`` (an ``hone.LM``), or ``None``."""
    if lm is None:
        return None
    if isinstance(lm, LM):
        return lm._lm
    if isinstance(lm, _hone.Lm):
        return lm
    raise TypeError(
        f"expected a hone.LM, got {type(lm).__name__}; make one with hone.LM('model-name') or "
        "hone.LM(client=your_function)"
    )
