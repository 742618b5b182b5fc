"""Renders the request DSPy's InferRules sends to induce rules, with no LM call.

Run with the DSPy 3.4.1 venv: `python make_infer_rules.py > infer_rules.json`.
"""

import json

import dspy
from dspy.teleprompt.infer_rules import InferRules, RulesInductionProgram

student = dspy.Predict("question, context: list[str] -> answer: int")
trainset = [
    dspy.Example(question="What is 2+2?", context=["arithmetic", "small"], answer=4, note="x").with_inputs(
        "question", "context"
    ),
    dspy.Example(answer=9, question="And 'three' squared?", context=[]).with_inputs("question", "context"),
]

optimizer = InferRules(metric=lambda e, p, t=None: 1.0, num_rules=7)
demos = optimizer.get_predictor_demos(trainset, student)
examples_text = optimizer.format_examples(demos, student.signature)
program = RulesInductionProgram(7)
signature = program.rules_induction.predict.signature
messages = dspy.ChatAdapter().format(signature, demos=[], inputs={"examples_text": examples_text})
rng = RulesInductionProgram(7).rng
rollouts = [rng.randint(0, 10**9) for _ in range(4)]
print(json.dumps({"examples_text": examples_text, "messages": messages, "rollout_ids": rollouts}, indent=1))
