"""``hone.export`` and ``hone.diff``: an optimized program's prompts in forms that run without
hone (OpenAI requests, Jinja2 templates, DSPy's JSON), a Markdown document for review, and
what changed between two versions — the same bytes as ``hone export`` and ``hone diff``."""

from __future__ import annotations

import datetime
import os
import pathlib
from typing import Any, Literal

from . import _hone
from .module import Module, _adapter_name

Format = Literal["openai", "jinja", "markdown", "dspy", "bundle"]


def _parts(program: Module) -> list[tuple[str, _hone.Native]]:
    if not isinstance(program, Module):
        raise TypeError(f"expected a hone.Module, not {type(program).__name__}")
    return program._parts()


def export(program: Module, format: Format = "openai", *, adapter: Any = "chat",
           title: str = "program", path: str | os.PathLike | None = None,
           score: float | None = None, metric: str | None = None, dataset: str | None = None,
           optimizer: str | None = None, model: str | None = None,
           date: str | None = None) -> str:
    """The program in ``format``:

    - ``openai``: per predictor, the chat request with ``{{field}}`` slots (JSON);
    - ``jinja``: per predictor, one Jinja2 template per message (JSON);
    - ``markdown``: a review document (instructions, fields, demos, the prompt) with the
      provenance given (``score``, ``metric``, ``dataset``, ``optimizer``, ``model``,
      ``date``, default today);
    - ``dspy``: DSPy's saved-program JSON (``program.load()`` in DSPy reads it);
    - ``bundle``: all of them and a manifest of hashes, written into the directory ``path``.

    The text is returned (and written to ``path`` when given); for ``bundle``, the directory.
    """
    provenance = {k: v for k, v in {"score": score, "metric": metric, "dataset": dataset,
                                    "optimizer": optimizer, "model": model,
                                    "date": date or datetime.date.today().isoformat()}.items()
                  if v is not None}
    out = _hone.export_program(_parts(program), format, adapter=_adapter_name(adapter) or "chat",
                               title=title, provenance=provenance)
    if format == "bundle":
        if path is None:
            raise TypeError("format='bundle' writes a directory: pass path='exported/'")
        root = pathlib.Path(path)
        for name, data in out.items():
            file = root / name
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(data)
        return str(root)
    if path is not None:
        pathlib.Path(path).write_text(out, encoding="utf-8")
    return out


class Diff(str):
    """What ``hone.diff`` returns: the rendered changes (a ``str``), with ``same`` telling
    whether there were none."""

    same: bool

    def __new__(cls, text: str, same: bool) -> Diff:
        out = super().__new__(cls, text)
        out.same = same
        return out


def diff(old: Module, new: Module, *, format: Literal["text", "markdown"] = "text",
         old_name: str = "a", new_name: str = "b", color: bool = False) -> Diff:
    """Instructions (a word diff), fields and demos changed from ``old`` to ``new``."""
    text, same = _hone.diff_program(_parts(old), _parts(new), format=format,
                                    old_name=old_name, new_name=new_name, color=color)
    return Diff(text, same)
