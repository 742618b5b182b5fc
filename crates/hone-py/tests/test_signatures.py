"""Signatures in DSPy's string and class forms, with DSPy's editing methods."""

from __future__ import annotations

import enum
from typing import Literal, Optional

import pytest

import hone
from helpers import Recorder


def system_prompt(program, **inputs) -> str:
    rec = Recorder("x")
    try:
        program(lm=hone.LM(client=rec, cache=False), **inputs)
    except hone.HoneError:
        pass
    return rec.requests[0]["messages"][0]["content"]


def test_string_form_with_types():
    sig = hone.Signature("context: list[str], question -> answer: int")
    assert list(sig.input_fields) == ["context", "question"]
    assert list(sig.output_fields) == ["answer"]
    assert sig.signature == "context, question -> answer"
    assert sig.instructions == "Given the fields `context`, `question`, produce the fields `answer`."


def test_class_form_docstring_types_and_descriptions():
    class Level(enum.Enum):
        LOW = "low"
        HIGH = "high"

    class Triage(hone.Signature):
        """Triage the support ticket."""

        ticket: str = hone.InputField(desc="the customer's message")
        history: Optional[list[str]] = hone.InputField()
        team: Literal["billing", "tech"] = hone.OutputField()
        urgency: Level = hone.OutputField()
        scores: dict[str, float] = hone.OutputField(desc="per team")

    assert Triage.instructions == "Triage the support ticket."
    system = system_prompt(hone.Predict(Triage), ticket="t", history=None)
    assert "1. `ticket` (str): the customer's message" in system
    assert "2. `history` (Union[list[str], NoneType]):" in system  # as DSPy names it
    assert "1. `team` (Literal['billing', 'tech']):" in system
    assert "3. `scores` (dict[str, float]): per team" in system
    assert "2. `urgency` (Level):" in system   # an enum class by its name, as DSPy shows it
    assert "# note: the value you produce must be one of: low; high" in system
    assert system.endswith("Triage the support ticket.")


def test_pydantic_model_outputs_come_back_as_models():
    pydantic = pytest.importorskip("pydantic")

    class Person(pydantic.BaseModel):
        name: str
        age: int

    class Find(hone.Signature):
        """Find the person."""

        text: str = hone.InputField()
        person: Person = hone.OutputField()

    rec = Recorder('{"name": "Ada", "age": 36}')
    out = hone.Predict(Find)(text="Ada, 36", lm=hone.LM(client=rec, cache=False))
    assert isinstance(out.person, Person) and out.person.age == 36
    system = rec.requests[0]["messages"][0]["content"]
    assert '"properties"' in system and '"age"' in system


def test_with_instructions_append_prepend_delete():
    sig = hone.Signature("question -> answer")
    assert sig.with_instructions("Be brief.").instructions == "Be brief."
    longer = sig.append("confidence", hone.OutputField(desc="0 to 1"), type_=float)
    assert list(longer.output_fields) == ["answer", "confidence"]
    assert longer.output_fields["confidence"].desc == "0 to 1"
    first = sig.prepend("context", hone.InputField(), type_=list[str])
    assert list(first.input_fields) == ["context", "question"]
    assert list(first.delete("context").input_fields) == ["question"]
    # Editing makes new signatures; the original is unchanged.
    assert list(sig.fields) == ["question", "answer"]
    system = system_prompt(hone.Predict(longer), question="q")
    assert "2. `confidence` (float): 0 to 1" in system


def test_bad_signatures_say_what_is_wrong():
    with pytest.raises(hone.SignatureError):
        hone.Signature("question answer")
    with pytest.raises(TypeError, match="InputField"):
        class Missing(hone.Signature):
            question: str
            answer: str = hone.OutputField()
    with pytest.raises(TypeError, match="type annotation"):
        class Untyped(hone.Signature):
            question = hone.InputField()
            answer: str = hone.OutputField()
    with pytest.raises(TypeError, match="signature"):
        hone.Predict(42)


def test_examples_and_predictions():
    ex = hone.Example(question="q", answer="a", note="n").with_inputs("question")
    assert ex.question == "q" and ex["answer"] == "a"
    assert ex.inputs().toDict() == {"question": "q"}
    assert ex.labels().toDict() == {"answer": "a", "note": "n"}
    assert ex.without("note").keys() == ["question", "answer"]
    assert ex.copy(answer="b").answer == "b" and ex.answer == "a"
    with pytest.raises(AttributeError):
        ex.missing
    pred = hone.Prediction(answer="a", score=0.5)
    assert pred.answer == "a" and float(hone.Prediction(score=0.5)) == 0.5


def test_editing_a_string_signature_keeps_its_untyped_fields_untyped():
    def fields(sig):
        return hone.Predict(sig).dump_state()["hone"]["signature"]["inputs"]

    plain = hone.Signature("review -> sentiment")
    edited = plain.with_instructions("Label the review.")
    assert fields(edited) == fields(plain)
    assert plain.input_fields["review"].type_declared is False
    typed = hone.Signature("review: str -> sentiment")
    assert typed.input_fields["review"].type_declared is True


def test_field_options_hone_does_not_have_are_errors():
    with pytest.raises(TypeError):
        hone.InputField(default="x")
    with pytest.raises(TypeError):
        hone.MultiChainComparison("question -> answer", M=3, temperature=0.7)
    with pytest.raises(TypeError):
        hone.Parallel(num_threads=2, timeout=5)
