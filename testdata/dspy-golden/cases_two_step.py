"""Golden cases for DSPy's TwoStepAdapter: the main LM's free-form prompt (inputs as
`name: value`, demos as user/assistant pairs) and the extraction LM's ChatAdapter prompt on the
extractor signature (`text -> <the outputs>`) for a sample answer of the main LM.

    python make_golden.py OUT_DIR cases_two_step.py
"""
from typing import Literal, Optional

import dspy

ADAPTERS = ["two_step"]


class QA(dspy.Signature):
    """Answer the question from the passages."""

    question: str = dspy.InputField()
    context: list[str] = dspy.InputField(desc="passages")
    answer: str = dspy.OutputField(desc="a short answer")
    confidence: float = dspy.OutputField()


class Classify(dspy.Signature):
    """Classify the message.

    Say why, briefly."""

    message: str = dspy.InputField()
    sender: dict[str, int] = dspy.InputField(desc="sender statistics")
    label: Literal["spam", "ham"] = dspy.OutputField(desc="spam or not")
    reason: Optional[str] = dspy.OutputField()
    flagged: bool = dspy.OutputField()


CASES = [
    {
        "name": "two_step_flat",
        "signature": QA,
        "inputs": {"question": "What is the capital of France?", "context": ["Paris is in France.", "Lyon too."]},
        "two_step_completion": "The capital is Paris.\n\nI am quite sure: confidence 0.9.",
    },
    {
        "name": "two_step_string_signature_demos",
        "signature": dspy.Signature("question, hints: list[str] -> reasoning, answer: int"),
        "demos": [
            dspy.Example(question="2 + 2?", hints=["add"], reasoning="Two and two make four.", answer=4),
            dspy.Example(question="3 * 3?", hints=[], reasoning="Three threes.", answer=9),
        ],
        "inputs": {"question": "10 - 4?", "hints": ["subtract", "it's small"]},
        "two_step_completion": "reasoning: Ten minus four is six.\n\nanswer: 6",
    },
    {
        "name": "two_step_literal_optional_demos",
        "signature": Classify,
        "demos": [
            dspy.Example(message="WIN A PRIZE", sender={"sent": 900, "known": 0}, label="spam",
                         reason=None, flagged=True),
            dspy.Example(message="lunch?", label="ham"),
            dspy.Example(message="see you", sender={"sent": 3}, label="ham", reason="a friend", flagged=False),
        ],
        "inputs": {"message": "Your account is locked, click here", "sender": {"sent": 10000}},
        "two_step_completion": "This is spam (phishing). Flag it: yes.",
    },
    {
        "name": "two_step_no_instructions_chain_of_thought",
        "signature": dspy.ChainOfThought("document -> summary, keywords: list[str]").predict.signature,
        "inputs": {"document": "Rust is a systems language.\nIt is memory safe."},
        "two_step_completion": "",
    },
]

PROGRAMS = {}
