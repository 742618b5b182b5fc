"""Golden cases for DSPy's BAMLAdapter (dspy.adapters.baml_adapter): its BAML-style schema of
output types, with field descriptions and model docstrings as `#` comments.

    python make_golden.py OUT_DIR cases_adapters.py
"""
import enum
from typing import Any, Literal, Optional

import dspy
import pydantic

# Every case here is rendered by these adapters (make_golden.py's default is chat, json, xml).
ADAPTERS = ["chat", "json", "xml", "baml"]


class Address(pydantic.BaseModel):
    """A postal address.

    Only the street and city are required.
    """

    street: str = pydantic.Field(description="street and number")
    city: str
    country: Literal["US", "CA"] = "US"


class Patient(pydantic.BaseModel):
    """A patient record."""

    name: str = pydantic.Field(description="full name of the patient")
    age: int
    height_m: Optional[float] = None
    address: Optional[Address] = None
    tags: list[str] = []


class LineItem(pydantic.BaseModel):
    sku: str = pydantic.Field(description="the product code")
    quantity: int = 1
    unit_price: float


class Empty(pydantic.BaseModel):
    pass


class Pair(pydantic.BaseModel):
    home: Address
    work: Address


class Level(enum.Enum):
    """How urgent a ticket is."""

    LOW = "low"
    HIGH = "high"


class Fix(pydantic.BaseModel):
    """A proposed fix."""

    level: Level = pydantic.Field(description="how urgent the fix is")
    steps: list[str]
    extra: dict[str, Any] = {}


class Triage(dspy.Signature):
    """Triage the ticket and write a patch."""

    ticket: str = dspy.InputField()
    meta: dict[str, int] = dspy.InputField()
    fix: Optional[Fix] = dspy.InputField(desc="an earlier fix, if any")
    level: Level = dspy.OutputField()
    levels: list[Optional[Level]] = dspy.OutputField()
    patch: dspy.Code["python"] = dspy.OutputField(desc="the patch")
    anything: Any = dspy.OutputField()
    proposal: Fix = dspy.OutputField()


class Describe(dspy.Signature):
    """Describe the pictures."""

    photo: dspy.Image = dspy.InputField()
    gallery: list[dspy.Image] = dspy.InputField(desc="more pictures")
    extra: Optional[dspy.Image] = dspy.InputField()
    caption: str = dspy.OutputField()


PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


class QA(dspy.Signature):
    """Answer the question."""

    question: str = dspy.InputField()
    context: list[str] = dspy.InputField(desc="passages")
    answer: str = dspy.OutputField(desc="a short answer")
    score: float = dspy.OutputField()
    ok: bool = dspy.OutputField()


class ExtractPatient(dspy.Signature):
    """Extract patient information from the clinical note."""

    clinical_note: str = dspy.InputField()
    patient: Patient = dspy.OutputField(desc="the patient described")
    note_kind: Literal["intake", "discharge", 3, True, None] = dspy.OutputField()


class Invoice(dspy.Signature):
    """List the line items of the invoice."""

    invoice: str = dspy.InputField()
    customer: Address = dspy.InputField(desc="billing address")
    items: list[LineItem] = dspy.OutputField()
    totals: dict[str, float] = dspy.OutputField()
    codes: list[int] = dspy.OutputField()
    maybe_item: Optional[LineItem] = dspy.OutputField()
    either: int | str = dspy.OutputField()
    nothing: Empty = dspy.OutputField()


class Classify(dspy.Signature):
    """Classify the message."""

    message: str = dspy.InputField()
    label: Literal["spam", "ham"] = dspy.OutputField(desc="spam or not")
    reason: Optional[str] = dspy.OutputField()
    urgency: Optional[Literal[1, 2, 3]] = dspy.OutputField()


class Addresses(dspy.Signature):
    """Find the two addresses."""

    text: str = dspy.InputField()
    pair: Pair = dspy.OutputField()


class AddressList(dspy.Signature):
    """Find every address."""

    text: str = dspy.InputField()
    addresses: list[Address] = dspy.OutputField()
    first: Address = dspy.OutputField()


CASES = [
    {
        "name": "baml_flat",
        "signature": QA,
        "inputs": {"question": "What is the capital of France?", "context": ["Paris is in France.", "Lyon too."]},
        "completions": [
            ("baml", '{"answer": "Paris", "score": 0.9, "ok": true}'),
            ("baml", 'Sure: {"answer": "Paris", "score": "0.5", "ok": "false"} done'),
            ("baml", '{"answer": "Paris"}'),
            ("baml", "Paris"),
        ],
    },
    {
        "name": "baml_nested_model",
        "signature": ExtractPatient,
        "demos": [
            dspy.Example(clinical_note="Jane Roe, 30, Toronto.",
                         patient=Patient(name="Jane Roe", age=30,
                                         address=Address(street="1 King St", city="Toronto", country="CA")),
                         note_kind="intake"),
        ],
        "inputs": {"clinical_note": "John Doe, 45, lives at 123 Main St, Anytown, US. «Discharged» today."},
        "completions": [
            ("baml", '{"patient": {"name": "John Doe", "age": 45, "address": {"street": "123 Main St", '
                     '"city": "Anytown"}}, "note_kind": "discharge"}'),
            ("baml", '```json\n{"patient": {"name": "John Doe", "age": "45"}, "note_kind": null}\n```'),
            ("baml", '{"patient": {"name": "John Doe", "age": 45}, "note_kind": 3}'),
            ("baml", '{"patient": {"name": "John Doe"}, "note_kind": "intake"}'),
            ("baml", '{"patient": {"name": "John Doe", "age": 45}, "note_kind": "other"}'),
        ],
    },
    {
        "name": "baml_list_of_models",
        "signature": Invoice,
        "demos": [
            dspy.Example(invoice="2 x A1 at 3.50", customer=Address(street="5 Elm", city="Austin"),
                         items=[LineItem(sku="A1", quantity=2, unit_price=3.5)], totals={"net": 7.0},
                         codes=[1, 2], maybe_item=None, either=4, nothing=Empty()),
            dspy.Example(invoice="B2", customer=Address(street="9 Oak", city="Québec", country="CA"),
                         items=[{"sku": "B2", "unit_price": 1.0}]),
        ],
        "inputs": {"invoice": "1 x Z9 at 10", "customer": Address(street="7 Pine Rd", city="Reno")},
        "completions": [
            ("baml", '{"items": [{"sku": "Z9", "quantity": 1, "unit_price": 10}], "totals": {"net": 10}, '
                     '"codes": [9], "maybe_item": null, "either": "x", "nothing": {}}'),
            ("baml", '{"items": [{"sku": "Z9", "unit_price": "10.5"}], "totals": {}, "codes": ["1", 2], '
                     '"maybe_item": {"sku": "Q", "unit_price": 2}, "either": 5, "nothing": {}}'),
            ("baml", '{"items": [{"quantity": 1}], "totals": {}, "codes": [], "maybe_item": null, '
                     '"either": 1, "nothing": {}}'),
        ],
    },
    {
        "name": "baml_literal_optional_demos",
        "signature": Classify,
        "demos": [
            dspy.Example(message="WIN A PRIZE", label="spam", reason="prize bait", urgency=None),
            dspy.Example(message="Lunch at 1?", label="ham"),
            dspy.Example(message="Server down", label="ham", reason=None, urgency=3),
        ],
        "inputs": {"message": "Your invoice is attached."},
        "completions": [
            ("baml", '{"label": "ham", "reason": null, "urgency": 2}'),
            ("baml", '{"label": "ham", "reason": "looks fine"}'),
            ("baml", '{"label": "eggs", "reason": null, "urgency": null}'),
            ("baml", '{"label": "spam", "reason": null, "urgency": 7}'),
        ],
    },
    {
        "name": "baml_enum_code_any",
        "signature": Triage,
        "demos": [
            dspy.Example(ticket="Crash", meta={"n": 1}, fix=Fix(level=Level.HIGH, steps=["restart"]),
                         level=Level.HIGH, levels=[Level.LOW, None], patch="x = 1", anything={"k": [1]},
                         proposal=Fix(level=Level.LOW, steps=[], extra={"a": None})),
        ],
        "inputs": {"ticket": "Slow page", "meta": {"views": 3}, "fix": None},
        "completions": [
            ("baml", '{"level": "HIGH", "levels": ["low", null], "patch": "```python\\ny = 2\\n```", '
                     '"anything": [1, "a"], "proposal": {"level": "high", "steps": ["a"]}}'),
            ("baml", '{"level": "medium", "levels": [], "patch": "", "anything": null, '
                     '"proposal": {"level": "low", "steps": []}}'),
        ],
    },
    {
        # A dspy.Image input is a pydantic instance: BAML writes its model_dump_json, the JSON
        # string of its marked-up content parts (still split into an image part).
        "name": "baml_image_inputs",
        "signature": Describe,
        "demos": [
            dspy.Example(photo=dspy.Image("https://example.com/cat.jpg"), gallery=[], extra=None,
                         caption="A cat."),
        ],
        "inputs": {"photo": dspy.Image(PNG), "gallery": [dspy.Image("https://example.com/b.webp")],
                   "extra": dspy.Image("https://example.com/e.gif")},
        "completions": [("baml", '{"caption": "A red pixel."}')],
    },
    {
        # A model used twice inside one output type: BAMLAdapter refuses to format the call.
        "name": "baml_repeated_model",
        "signature": Addresses,
        "inputs": {"text": "Home: 1 A St, Reno. Work: 2 B St, Reno."},
        "completions": [
            ("baml", '{"pair": {"home": {"street": "1 A St", "city": "Reno"}, '
                     '"work": {"street": "2 B St", "city": "Reno"}}}'),
        ],
    },
    {
        # The same model in two different output fields is fine.
        "name": "baml_model_in_two_fields",
        "signature": AddressList,
        "inputs": {"text": "1 A St, Reno; 2 B St, Reno."},
        "completions": [],
    },
]

PROGRAMS = {}
