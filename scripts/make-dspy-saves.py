#!/usr/bin/env python3
"""Makes real-shaped DSPy saves of five program kinds, and DSPy 3.4.1's renderings of them.

Usage:
  "$DSPY_ANY/bin/python"   scripts/make-dspy-saves.py save   testdata/dspy-saves/dspy-VERSION
  "$DSPY_3_4_1/bin/python" scripts/make-dspy-saves.py render testdata/dspy-saves/dspy-VERSION

`save` builds each program with the installed dspy (any release from 2.6 on), gives its
predictors instructions and demos as an optimizer would (bootstrapped demos carry
`"augmented": true` and every field; labeled ones only some), and writes
DIR/programs/KIND.json with `program.save(...)`. `render` (with DSPy 3.4.1) loads each save into
the same program and writes DIR/expected/KIND.json: per predictor, an input and the messages
ChatAdapter and JSONAdapter render (with the JSON adapter's response_format), in the layout of
testdata/dspy-imports/expected. hone's tests read the committed files. No LM is called.
"""
import json
import sys
from pathlib import Path

import dspy

KINDS = ["predict", "chain_of_thought", "react", "refine", "custom_module"]


def lookup(term: str) -> str:
    """Looks a term up in the glossary."""
    raise NotImplementedError


class Rag(dspy.Module):
    def __init__(self):
        super().__init__()
        self.respond = dspy.ChainOfThought("context, question -> answer")


class Digest(dspy.Module):
    def __init__(self):
        super().__init__()
        self.extract = dspy.Predict("document -> entities: list[str]")
        self.summarize = dspy.ChainOfThought("document, entities: list[str] -> summary")


def _reward(args, pred):
    return 1.0


def build(kind):
    if kind == "predict":
        return dspy.Predict("question -> answer: int")
    if kind == "chain_of_thought":
        return Rag()
    if kind == "react":
        return dspy.ReAct("question -> answer", tools=[lookup])
    if kind == "refine":
        return dspy.Refine(
            module=dspy.ChainOfThought("question -> answer"), N=3, reward_fn=_reward, threshold=1.0
        )
    if kind == "custom_module":
        return Digest()
    raise KeyError(kind)


def ex(**fields):
    return dspy.Example(**fields)


# Per kind: {predictor name: (instructions, demos)}.
STATES = {
    "predict": {
        "self": (
            "Answer the arithmetic question with a whole number.",
            [
                ex(augmented=True, question="What is 7 + 5?", answer=12),
                ex(question="What is 3 * 4?", answer=12),
            ],
        )
    },
    "chain_of_thought": {
        "respond.predict": (
            "Answer the question from the passages; quote figures exactly.",
            [
                ex(
                    augmented=True,
                    context=["Plant A makes 120 units a day.", "Plant B makes «80» units.\nIt runs two shifts."],
                    question="How many units does Plant A make a day?",
                    reasoning="The first passage gives Plant A's daily output.",
                    answer="120 units",
                ),
                ex(question="Which plant runs two shifts?", answer="Plant B"),
            ],
        )
    },
    "react": {
        "react": (None, []),
        "extract.predict": (
            None,
            [
                ex(
                    augmented=True,
                    question="What does SLA stand for?",
                    trajectory="[[ ## thought_0 ## ]]\nLook it up.\n\n[[ ## tool_name_0 ## ]]\nlookup\n\n[[ ## tool_args_0 ## ]]\n{\"term\": \"SLA\"}\n\n[[ ## observation_0 ## ]]\nservice-level agreement",
                    reasoning="The glossary says service-level agreement.",
                    answer="service-level agreement",
                )
            ],
        ),
    },
    "refine": {
        "module.predict": (
            "Answer in one short sentence.",
            [
                ex(
                    augmented=True,
                    question="Why is the sky blue?",
                    reasoning="Rayleigh scattering favours short wavelengths.",
                    answer="Air scatters blue light more than red.",
                )
            ],
        )
    },
    "custom_module": {
        "extract": (
            "List the organisations the document names.",
            [
                ex(
                    augmented=True,
                    document="Acme signed with Globex in May.",
                    entities=["Acme", "Globex"],
                )
            ],
        ),
        "summarize.predict": (
            "Summarize the document in one sentence, naming the entities.",
            [
                ex(
                    augmented=True,
                    document="Acme signed with Globex in May.",
                    entities=["Acme", "Globex"],
                    reasoning="Both organisations and the month matter.",
                    summary="Acme and Globex signed a deal in May.",
                )
            ],
        ),
    },
}

INPUTS = {
    "predict": {"self": {"question": "What is 17 + 25?"}},
    "chain_of_thought": {
        "respond.predict": {
            "context": ["Plant C opened in 2021.", "It makes «95» units a day.\nOne shift."],
            "question": "When did Plant C open?",
        }
    },
    "react": {
        "react": {
            "question": "What is an RFC?",
            "trajectory": "[[ ## thought_0 ## ]]\nLook it up.\n\n[[ ## tool_name_0 ## ]]\nlookup\n\n[[ ## tool_args_0 ## ]]\n{\"term\": \"RFC\"}\n\n[[ ## observation_0 ## ]]\nrequest for comments",
        },
        "extract.predict": {
            "question": "What is an RFC?",
            "trajectory": "[[ ## thought_0 ## ]]\nDone.\n\n[[ ## tool_name_0 ## ]]\nfinish\n\n[[ ## tool_args_0 ## ]]\n{}\n\n[[ ## observation_0 ## ]]\nCompleted.",
        },
    },
    "refine": {"module.predict": {"question": "Why do leaves fall?"}},
    "custom_module": {
        "extract": {"document": "Initech hired Umbrella for audits."},
        "summarize.predict": {
            "document": "Initech hired Umbrella for audits.",
            "entities": ["Initech", "Umbrella"],
        },
    },
}


def save(out):
    (out / "programs").mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        program = build(kind)
        named = dict(program.named_predictors())
        assert list(named) == list(STATES[kind]), (kind, list(named))
        for name, (instructions, demos) in STATES[kind].items():
            p = named[name]
            if instructions is not None:
                p.signature = p.signature.with_instructions(instructions)
            p.demos = demos
        program.save(str(out / "programs" / f"{kind}.json"))
        print(f"saved {kind} with dspy {dspy.__version__}")


def render(out):
    from dspy.adapters.json_adapter import _get_structured_outputs_response_format

    (out / "expected").mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        program = build(kind)
        program.load(str(out / "programs" / f"{kind}.json"))
        predictors = {}
        for name, p in program.named_predictors():
            inputs = INPUTS[kind][name]
            sig = p.signature
            predictors[name] = {
                "inputs": inputs,
                "signature": sig.signature,
                "chat": dspy.ChatAdapter().format(sig, p.demos, inputs),
                "json": dspy.JSONAdapter().format(sig, p.demos, inputs),
            }
            try:
                model = _get_structured_outputs_response_format(sig)
                # As litellm sends the pydantic model DSPy passes as response_format.
                predictors[name]["json_response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": model.__name__, "schema": model.model_json_schema(), "strict": True},
                }
            except ValueError:
                pass  # DSPy falls back to JSON mode (open-ended mappings such as ReAct's args)
        text = json.dumps(
            {"dspy_version": dspy.__version__, "file": f"programs/{kind}.json", "predictors": predictors},
            indent=2,
            ensure_ascii=False,
        )
        (out / "expected" / f"{kind}.json").write_text(text + "\n")
        print(f"rendered {kind} with dspy {dspy.__version__}")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("save", "render"):
        sys.exit(__doc__)
    out = Path(sys.argv[2])
    (save if sys.argv[1] == "save" else render)(out)


if __name__ == "__main__":
    main()
