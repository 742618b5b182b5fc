"""Program structures and reference states shared by make_expected.py and
scripts/check-dspy-load.py.

A *structure* is a fresh DSPy program (what `program.load(path)` is called on). A *reference*
is the same program with the state a saved file should give it, built directly in DSPy; the
messages DSPy's ChatAdapter renders for the reference are the expected messages.
"""
import importlib.util
import json
from pathlib import Path

import dspy

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "testdata" / "dspy-golden"


def _load_cases():
    spec = importlib.util.spec_from_file_location("cases", GOLDEN / "cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_cases()


def _json(path):
    return json.loads(Path(path).read_text())


# Instructions and demos hone's side sets on the typed QA predictor (see the hone-saved test in
# crates/hone-core/tests/state.rs, which builds the same state from `#[derive(Signature)]`).
QA_TYPED_INSTRUCTIONS = "Answer the question using only the context. Reply with one word."


def _qa_typed_demos():
    demos = _json(GOLDEN / "qa_typed_with_demos" / "demos.json")
    demos[0]["augmented"] = True
    return demos


STRUCTURES = {
    "qa_plain": lambda: dspy.Predict("question -> answer"),
    "two_step": lambda: cases.TwoStep(),
    "qa_typed": lambda: dspy.Predict(cases.Answer),
}


def reference(kind):
    """The DSPy program holding the state the saved file of this kind should load to."""
    if kind == "qa_plain":
        return dspy.Predict("question -> answer")
    if kind == "two_step":
        program = cases.TwoStep()
        program.load(str(GOLDEN / "programs" / "two_step_optimized.json"))
        return program
    if kind == "qa_typed":
        program = dspy.Predict(cases.Answer.with_instructions(QA_TYPED_INSTRUCTIONS))
        program.demos = [dspy.Example(**d) for d in _qa_typed_demos()]
        return program
    raise KeyError(kind)


# The inputs each predictor is rendered with.
INPUTS = {
    "qa_plain": {"self": _json(GOLDEN / "qa_string_signature" / "inputs.json")},
    "two_step": {
        "route": _json(GOLDEN / "route_no_docstring_dict_optional" / "inputs.json"),
        "answer.predict": {
            "ticket": "The app crashes with {\"error\": \"[[ ## x ## ]]\"} when I log in",
            "team": "tech",
        },
    },
    "qa_typed": {"self": _json(GOLDEN / "qa_typed_with_demos" / "inputs.json")},
}

# hone-saved file → the kind of program it holds.
HONE_SAVED = {
    "qa_plain.json": "qa_plain",
    "two_step_optimized.json": "two_step",
    "qa_typed.json": "qa_typed",
}


def render(program, kind):
    """{predictor name: {"inputs", "messages"}} as DSPy's ChatAdapter formats each predictor."""
    adapter = dspy.ChatAdapter()
    out = {}
    for name, predictor in program.named_predictors():
        inputs = INPUTS[kind][name]
        messages = adapter.format(predictor.signature, predictor.demos, inputs)
        out[name] = {"inputs": inputs, "messages": messages}
    return out


def dumps(value):
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# The real DSPy saves of testdata/dspy-imports, as their repositories define the programs
# (`hone import` reads them with no structure; scripts/check-dspy-export.py loads hone's DSPy
# export of each import into these).
class _Respond(dspy.Module):
    def __init__(self):
        super().__init__()
        self.respond = dspy.ChainOfThought("context, question -> response")


class _CleanText(dspy.Module):
    def __init__(self):
        super().__init__()
        self.chain = dspy.ChainOfThought("text -> clean_text")


class _CounterNarrative(dspy.Module):
    def __init__(self):
        super().__init__()
        self.generate = dspy.Predict("hate_speech -> counter_narrative")


class _RefactorSteps(dspy.Module):
    def __init__(self):
        super().__init__()
        self.analyzer = dspy.Predict("code_snippet -> analysis, refactoring_opportunities: list[str]")
        self.planner = dspy.Predict("code_snippet, analysis -> refactoring_summary, plan_steps: list[str]")
        self.implementer = dspy.Predict(
            "original_code, refactoring_summary, plan_steps: list[str] -> refactored_code, implementation_explanation"
        )


class _ContractReview(dspy.Module):
    def __init__(self):
        super().__init__()
        self.predictor = dspy.Predict("contract, negotiation_playbook -> recommendations")


def search_wikipedia(query: str):
    """Searches Wikipedia (never called here)."""
    raise NotImplementedError


STRUCTURES.update(
    {
        "import_honeyoak_rag_cot": lambda: _Respond(),
        "import_knutole_pii_cot": lambda: _CleanText(),
        "import_bhanu_counter_narrative": lambda: _CounterNarrative(),
        "import_robofactor_pipeline": lambda: dspy.Refine(
            module=_RefactorSteps(), N=3, reward_fn=lambda args, pred: 1.0, threshold=1.0
        ),
        "import_habenicht_react": lambda: dspy.ReAct("question -> answer", tools=[search_wikipedia]),
        "import_legacy_lear_netlogo": lambda: dspy.Predict("pseudocode -> reasoning, netlogo_code"),
        "import_legacy_plexlogic_contract": lambda: _ContractReview(),
    }
)


def _load_saves_script():
    spec = importlib.util.spec_from_file_location("make_dspy_saves", ROOT / "scripts" / "make-dspy-saves.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The program kinds of scripts/make-dspy-saves.py (testdata/dspy-saves), as it builds them.
_saves = _load_saves_script()
STRUCTURES.update({f"save_{kind}": (lambda k=kind: _saves.build(k)) for kind in _saves.KINDS})
