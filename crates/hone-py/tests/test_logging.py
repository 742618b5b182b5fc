"""hone logs through Python's ``logging`` under the ``hone`` logger, and is quiet by default."""

from __future__ import annotations

import ast
import logging
import pathlib

import hone
from hone import _hone


def test_nothing_is_logged_per_call_by_default(sim, caplog):
    logging.getLogger("hone").setLevel(logging.NOTSET)
    with caplog.at_level(logging.INFO):
        lm = sim.lm(cache=True)
        for _ in range(3):
            hone.Predict("question -> answer")(question="What is 1 + 1?", lm=lm)
    assert [r for r in caplog.records if r.name.startswith("hone")] == []


def test_debug_records_reach_the_hone_loggers(sim, caplog):
    hone_logger = logging.getLogger("hone")
    try:
        hone_logger.setLevel(logging.DEBUG)
        with caplog.at_level(logging.DEBUG, logger="hone"):
            lm = sim.lm(cache=True)   # an LM made now follows the level
            hone.Predict("question -> answer")(question="What is 7 + 1?", lm=lm)
            hone.Predict("question -> answer")(question="What is 7 + 1?", lm=lm)
        hits = [r for r in caplog.records if r.name == "hone.lm.cache" and "cache hit" in r.getMessage()]
        assert hits and hits[0].levelno == logging.DEBUG
    finally:
        hone_logger.setLevel(logging.NOTSET)
        sim.lm()


def test_stubs_cover_the_native_module():
    """Every class, method and function in ``_hone.pyi`` exists in ``hone._hone``, and every
    public name of ``hone._hone`` has a stub."""
    stub = ast.parse((pathlib.Path(hone.__file__).parent / "_hone.pyi").read_text())
    declared = set()
    for node in stub.body:
        if isinstance(node, ast.ClassDef):
            declared.add(node.name)
            cls = getattr(_hone, node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name != "__init__":
                    assert hasattr(cls, item.name), f"{node.name}.{item.name}"
        elif isinstance(node, ast.FunctionDef):
            declared.add(node.name)
            assert callable(getattr(_hone, node.name)), node.name
    public = {n for n in dir(_hone) if not n.startswith("_")}
    assert public <= declared, f"no stub for {sorted(public - declared)}"
