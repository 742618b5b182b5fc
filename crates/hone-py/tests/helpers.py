"""Small LM clients for tests: Python functions that answer chat.completions requests."""

from __future__ import annotations

import re
import threading
from typing import Any, Callable


def completion(content: str, model: str = "fake") -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def output_fields(request: dict[str, Any]) -> list[str]:
    """The output fields the ChatAdapter asks for, read off the system message."""
    system = request["messages"][0]["content"]
    outputs = system.split("Your output fields are:")[1].split("All interactions")[0]
    return re.findall(r"^\d+\. `(\w+)`", outputs, flags=re.M)


class Recorder:
    """A client that answers every output field with ``answer`` (or ``answer(request)``) and
    records each request it gets."""

    def __init__(self, answer: str | Callable[[dict], str] = "42", name: str = "fake",
                 barrier: threading.Barrier | None = None) -> None:
        self.answer = answer
        self.name = name
        self.barrier = barrier
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(request)
        if self.barrier is not None:
            self.barrier.wait(timeout=10)
        value = self.answer(request) if callable(self.answer) else self.answer
        body = "".join(f"[[ ## {f} ## ]]\n{value}\n\n" for f in output_fields(request))
        return completion(body + "[[ ## completed ## ]]", self.name)
