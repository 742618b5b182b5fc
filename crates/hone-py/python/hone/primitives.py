"""``Example`` and ``Prediction``, with DSPy's shapes: attribute and item access, ``with_inputs``,
``inputs()`` and ``labels()``."""

from __future__ import annotations

from typing import Any, Iterator


class Example:
    """A dict of fields with the names of its input fields marked (``with_inputs``)."""

    def __init__(self, base: Any = None, **kwargs: Any) -> None:
        store: dict[str, Any] = {}
        input_keys = None
        if isinstance(base, Example):
            store.update(base._store)
            input_keys = base._input_keys
        elif isinstance(base, dict):
            store.update(base)
        store.update(kwargs)
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_input_keys", input_keys)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__") and key.endswith("__"):
            raise AttributeError(key)
        try:
            return self._store[key]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no field `{key}`; it has {list(self._store)}"
            ) from None

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self._store[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._store[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._store[key] = value

    def __delitem__(self, key: str) -> None:
        del self._store[key]

    def __contains__(self, key: object) -> bool:
        return key in self._store

    def __len__(self) -> int:
        return len(self._store)

    def __iter__(self) -> Iterator[str]:
        return iter(self._store)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Example) and self._store == other._store

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._store.items())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._store.items())
        inputs = f", input_keys={set(self._input_keys)}" if self._input_keys is not None else ""
        return f"{type(self).__name__}({fields}){inputs}"

    def keys(self) -> list[str]:
        return list(self._store)

    def values(self) -> list[Any]:
        return list(self._store.values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._store.items())

    def get(self, key: str, default: Any = None) -> Any:
        return self._store.get(key, default)

    def with_inputs(self, *keys: str) -> Example:
        """A copy whose input fields are ``keys`` (the rest are labels)."""
        copy = self.copy()
        object.__setattr__(copy, "_input_keys", list(keys))
        return copy

    def inputs(self) -> Example:
        """The input fields only. Raises if ``with_inputs`` was never called."""
        if self._input_keys is None:
            raise ValueError(
                "this Example has no input fields marked; call `.with_inputs('question', ...)` first"
            )
        out = Example({k: v for k, v in self._store.items() if k in self._input_keys})
        object.__setattr__(out, "_input_keys", list(self._input_keys))
        return out

    def labels(self) -> Example:
        """The fields that are not inputs."""
        keys = self._input_keys or []
        return Example({k: v for k, v in self._store.items() if k not in keys})

    def copy(self, **kwargs: Any) -> Example:
        out = type(self)(dict(self._store), **kwargs)
        object.__setattr__(out, "_input_keys", self._input_keys)
        return out

    def without(self, *keys: str) -> Example:
        out = self.copy()
        for k in keys:
            out._store.pop(k, None)
        return out

    def toDict(self) -> dict[str, Any]:  # noqa: N802 - DSPy's name
        return dict(self._store)

    to_dict = toDict


class Prediction(Example):
    """A module's answer: its output fields by attribute (``pred.answer``). A metric may also
    return one with ``score`` and ``feedback`` (GEPA's form), and ``objectives``, a dict of
    named scores (GEPA's ``frontier_type``)."""

    def __init__(self, base: Any = None, **kwargs: Any) -> None:
        super().__init__(base, **kwargs)
        object.__setattr__(self, "_lm_usage", None)

    @classmethod
    def from_completions(cls, fields: dict[str, Any]) -> Prediction:
        return cls(fields)

    def get_lm_usage(self) -> dict[str, Any] | None:
        """The LM usage of the call that made this prediction, when it was recorded."""
        return self._lm_usage

    def __float__(self) -> float:
        return float(self._store["score"])

    def __repr__(self) -> str:
        fields = ",\n    ".join(f"{k}={v!r}" for k, v in self._store.items())
        return f"Prediction(\n    {fields}\n)"


def example_rows(examples: Any, split: str) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """Examples as hone's core takes them: their fields, and the names of their inputs."""
    rows, keys = [], []
    for i, ex in enumerate(examples):
        if not isinstance(ex, Example):
            ex = Example(ex)
        if ex._input_keys is None:
            raise ValueError(
                f"{split}[{i}] has no input fields marked; build it with "
                "hone.Example(...).with_inputs('question', ...)"
            )
        rows.append(dict(ex.items()))
        keys.append(list(ex._input_keys))
    return rows, keys
