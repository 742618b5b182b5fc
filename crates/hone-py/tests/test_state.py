"""Programs saved and loaded in DSPy's JSON format, in both directions."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import hone

PROGRAM = '''
import {module} as dspy

class QA(dspy.Module):
    def __init__(self):
        super().__init__()
        self.rewrite = dspy.Predict("question -> query")
        self.answer = dspy.ChainOfThought("context: list[str], question -> answer")

    def forward(self, question):
        return self.answer(context=[self.rewrite(question=question).query], question=question)
'''


def build(module: str = "hone"):
    scope: dict = {}
    exec(PROGRAM.format(module=module), scope)
    return scope["QA"]()


def dspy_python() -> str:
    python = os.environ.get("DSPY_PYTHON")
    if not python:
        pytest.skip("DSPY_PYTHON (a Python with dspy 3.4.1, set by scripts/test) is not set")
    return python


def run_dspy(code: str) -> str:
    proc = subprocess.run([dspy_python(), "-c", PROGRAM.format(module="dspy") + code],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def optimized():
    program = build()
    program.rewrite.demos = [hone.Example(question="Capital of Peru?", query="Peru capital")]
    program.answer.predict.demos = [
        hone.Example(context=["Lima is Peru's capital."], question="Capital of Peru?",
                     reasoning="The context says Lima.", answer="Lima")
    ]
    return program


def test_hone_saves_what_dspy_loads(tmp_path):
    path = tmp_path / "program.json"
    optimized().save(path)
    out = run_dspy(f'''
import json
p = QA()
p.load({str(path)!r})
print(json.dumps({{name: [dict(d) for d in pred.demos] for name, pred in p.named_predictors()}}))
''')
    demos = json.loads(out)
    assert demos["rewrite"] == [{"question": "Capital of Peru?", "query": "Peru capital"}]
    assert demos["answer.predict"][0]["answer"] == "Lima"
    assert demos["answer.predict"][0]["context"] == ["Lima is Peru's capital."]


def test_dspy_saves_what_hone_loads(tmp_path):
    path = tmp_path / "from_dspy.json"
    run_dspy(f'''
p = QA()
p.rewrite.demos = [dspy.Example(question="Capital of Chile?", query="Chile capital")]
p.answer.predict.signature = p.answer.predict.signature.with_instructions("Answer in one word.")
p.save({str(path)!r})
''')
    program = build().load(path)
    predictors = dict(program.named_predictors())
    assert [dict(d) for d in predictors["rewrite"].demos] == [{"question": "Capital of Chile?", "query": "Chile capital"}]
    assert predictors["answer.predict"].signature.instructions == "Answer in one word."
    # And it saves back to the same DSPy state.
    again = tmp_path / "again.json"
    program.save(again)
    ours, theirs = json.loads(again.read_text()), json.loads(path.read_text())
    for name in ("rewrite", "answer.predict"):
        assert ours[name]["demos"] == theirs[name]["demos"]
        assert ours[name]["signature"] == theirs[name]["signature"]


def test_hone_format_round_trip_and_deepcopy(tmp_path):
    program = optimized()
    path = tmp_path / "hone.json"
    program.save(path, format="hone")
    fresh = build().load(path)
    assert fresh.dump_state() == program.dump_state()
    assert fresh.deepcopy().dump_state() == program.dump_state()


def test_a_state_that_does_not_fit_changes_nothing(tmp_path):
    program = optimized()
    state = program.dump_state(format="dspy")
    state["summarize"] = state.pop("rewrite")
    with pytest.raises(hone.StateError) as info:
        program.load_state(state)
    message = str(info.value)
    assert "summarize" in message and "rewrite" in message
    # All or nothing: the predictor that did fit kept its old state too.
    assert program.dump_state() == optimized().dump_state()
