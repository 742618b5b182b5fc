"""``hone.BAMLAdapter``: the prompt DSPy 3.4.1's BAMLAdapter sends, and its JSON answer parsed."""

from __future__ import annotations

import json

import hone
from helpers import completion

# What DSPy 3.4.1's BAMLAdapter().format(...) returns for this signature and question.
SYSTEM = (
    "Your input fields are:\n1. `question` (str):\nYour output fields are:\n"
    "1. `answer` (list[int]): \n2. `note` (Union[str, NoneType]):\n"
    "All interactions will be structured in the following way, with the appropriate values filled in.\n\n"
    "[[ ## question ## ]]\n{question}\n\n"
    "[[ ## answer ## ]]\nOutput field `answer` should be of type: int[]\n\n"
    "[[ ## note ## ]]\nOutput field `note` should be of type: string or null\n\n"
    "[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n"
    "        Given the fields `question`, produce the fields `answer`, `note`."
)
USER = (
    "[[ ## question ## ]]\nPrimes below 6?\n\n"
    "Respond with a JSON object in the following order of fields: `answer` (must be formatted as a "
    "valid Python list[int]), then `note` (must be formatted as a valid Python Union[str, NoneType])."
)


def test_baml_adapter_sends_dspys_prompt_and_parses_the_json_answer():
    requests: list[dict] = []

    def client(request):
        requests.append(request)
        return completion('Here: {"answer": [2, "3", 5], "note": null}')

    program = hone.Predict("question -> answer: list[int], note: Optional[str]")
    out = program(question="Primes below 6?", lm=hone.LM(client=client, cache=False),
                  adapter=hone.BAMLAdapter())
    assert out.answer == [2, 3, 5]
    assert out.note is None
    [request] = requests
    assert request["messages"] == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    assert request["response_format"]["type"] == "json_schema"
    assert repr(hone.BAMLAdapter()) == "BAMLAdapter()"


def test_baml_export_names_the_adapter():
    program = hone.Predict("question -> answer: list[int], note: Optional[str]")
    exported = json.loads(hone.export(program, "openai", adapter=hone.BAMLAdapter()))
    assert exported["adapter"] == "baml"
    [predictor] = exported["predictors"].values()
    assert predictor["request"]["messages"][0] == {"role": "system", "content": SYSTEM}
