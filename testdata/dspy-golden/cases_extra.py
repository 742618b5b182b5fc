"""More golden cases: more types, constraints, history, and parse edge cases."""
from typing import Any, Literal, Optional, Union

import dspy
import pydantic


class Address(pydantic.BaseModel):
    """A postal address."""

    street: str
    city: str
    zip_code: Optional[str] = None


class Customer(pydantic.BaseModel):
    name: str
    vip: bool = False
    address: Address
    tags: list[str] = []


class Profile(dspy.Signature):
    """Summarize the customer record.

    Count each word of the notes.
        Keep the indentation of this line.
    """

    customer: Customer = dspy.InputField(desc="the customer record")
    notes: str = dspy.InputField()
    word_counts: dict[str, int] = dspy.OutputField()
    ids: list[int] = dspy.OutputField(desc="order ids")
    city: Optional[Address] = dspy.OutputField()


class Scores(dspy.Signature):
    """Score the answer."""

    threshold: float = dspy.InputField()
    strict: bool = dspy.InputField()
    answer: str = dspy.InputField(min_length=1)
    history_scores: list[float] = dspy.InputField()
    grade: Literal[1, 2, 3] = dspy.OutputField()
    score: int = dspy.OutputField(ge=1, le=5, desc="1 to 5")
    passed: bool = dspy.OutputField()


class Mixed(dspy.Signature):
    """Label the snippets."""

    snippets: list[str] = dspy.InputField()
    anything: Any = dspy.InputField()
    labels: list[str] = dspy.OutputField()
    value: Union[int, str] = dspy.OutputField()
    extra: Any = dspy.OutputField()


class Chat(dspy.Signature):
    """Answer in the conversation."""

    question: str = dspy.InputField()
    history: dspy.History = dspy.InputField()
    answer: str = dspy.OutputField()


CUSTOMER = {"name": "Zoë «Z» O'Neil", "vip": True,
            "address": {"street": "1 Rue de l'Été", "city": "Paris", "zip_code": None}, "tags": []}

CASES = [
    {
        "name": "x_nested_model_input_dict_list_outputs",
        "signature": Profile,
        "demos": [
            dspy.Example(customer=CUSTOMER, notes="a b a", word_counts={"a": 2, "b": 1}, ids=[1, 2],
                         city={"street": "1 Rue", "city": "Paris", "zip_code": "75001"}),
            dspy.Example(customer=CUSTOMER, notes="x", word_counts={}, ids=[], city=None),
        ],
        "inputs": {"customer": CUSTOMER, "notes": "Line one.\nLine «two» & <three>."},
        "completions": [
            ("chat", '[[ ## word_counts ## ]]\n{"line": 2, "one": 1}\n\n[[ ## ids ## ]]\n[3, 4]\n\n'
                     '[[ ## city ## ]]\n{"street": "s", "city": "c"}\n\n[[ ## completed ## ]]'),
            ("chat", "[[ ## word_counts ## ]]\n{'line': '2'}\n\n[[ ## ids ## ]]\n[3, 4,]\n\n"
                     "[[ ## city ## ]]\nNone\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## word_counts ## ]]\n{}\n\n[[ ## ids ## ]]\n[3.5]\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## word_counts ## ]]\n{}\n\n[[ ## ids ## ]]\n[]\n\n[[ ## completed ## ]]"),
            ("json", '```json\n{"word_counts": {"a": 1}, "ids": [1], "city": null}\n```'),
            ("json", 'Here you go: {"word_counts": {"a": 1}, "ids": ["7"], "city": {"street": "s", "city": "c", "zip_code": 1}} done'),
            ("json", "{'word_counts': {'a': 1}, 'ids': [1, 2], 'city': None, 'other': 3}"),
            ("json", '{"word_counts": {"a": 1}, "ids": [1, 2'),
            ("json", "no json here"),
            ("xml", "<word_counts><a>1</a><b>2</b></word_counts>\n<ids><item>1</item><item>2</item></ids>\n"
                    "<city><street>s</street><city>c</city></city>"),
            ("xml", "<word_counts></word_counts><ids></ids><city></city>"),
            ("xml", "<word_counts><entry key=\"a b\">3</entry></word_counts><ids>[5, 6]</ids><city />"),
            ("xml", "<word_counts><a>x</a></word_counts><ids><item>1</item></ids>"),
            ("xml", "<word_counts><a>1</a></word_counts><ids><item>1</item></ids><city>"),
        ],
    },
    {
        "name": "x_scalars_constraints_literal_int",
        "signature": Scores,
        "demos": [
            dspy.Example(threshold=0.5, strict=False, answer="ok", history_scores=[1e-05, 1.0, 1e16, 0.1],
                         grade=2, score=3, passed=True),
            dspy.Example(threshold=1.5, answer="only some", grade=1),
            dspy.Example(threshold=2.0, strict=True),
            dspy.Example(grade=3, score=5, passed=False),
        ],
        "inputs": {"threshold": 0.75, "strict": True, "answer": "It is\n  indented\n\ttabbed",
                   "history_scores": []},
        "completions": [
            ("chat", "[[ ## grade ## ]]\n2\n\n[[ ## score ## ]]\n4\n\n[[ ## passed ## ]]\ntrue\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## grade ## ]]\nLiteral[3]\n\n[[ ## score ## ]]\n4.0\n\n[[ ## passed ## ]]\nyes\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## grade ## ]]\n'1'\n\n[[ ## score ## ]]\n 9 \n\n[[ ## passed ## ]]\nFalse\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## grade ## ]]\n4\n\n[[ ## score ## ]]\n4\n\n[[ ## passed ## ]]\nTrue\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## grade ## ]]\n2\n\n[[ ## score ## ]]\n4.5\n\n[[ ## passed ## ]]\nTrue\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## grade ## ]]\n2\n\n[[ ## score ## ]]\n4\n\n[[ ## passed ## ]]\nmaybe\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## grade ## ]] 2\n[[ ## score ## ]] 3\n[[ ## passed ## ]] True\n[[ ## grade ## ]] 1"),
            ("chat", "[[ ## grade ## ]]\n2\n\n[[ ## passed ## ]]\nTrue"),
            ("chat", ""),
            ("json", '{"grade": 3, "score": "5", "passed": 1}'),
            ("json", '{"grade": "2", "score": 5.0, "passed": "no"}'),
            ("json", '{"grade": true, "score": 5, "passed": false}'),
            ("json", '{"grade": 2, "score": 5}'),
            ("xml", "<grade>2</grade>\n<score>3</score>\n<passed>True</passed>"),
            ("xml", "<grade>\n3\n</grade><score>1</score><passed>false</passed> trailing text"),
            ("xml", "<grade>2</grade><score>3</score><passed>True</passed><grade>1</grade>"),
            ("xml", "<grade>2</grade><score>3 & 4</score><passed>True</passed>"),
        ],
    },
    {
        "name": "x_string_lists_any_union",
        "signature": Mixed,
        "demos": [dspy.Example(snippets=["a"], anything={"k": [1, None, True]}, labels=["x"], value=3,
                               extra=None)],
        "inputs": {"snippets": ["one", "two\nlines", "has «guillemets»", ""], "anything": [1.5, "s", None, False]},
        "completions": [
            ("chat", '[[ ## labels ## ]]\n["a", "b"]\n\n[[ ## value ## ]]\n42\n\n[[ ## extra ## ]]\n{"z": 1}\n\n[[ ## completed ## ]]'),
            ("chat", "[[ ## labels ## ]]\n['a']\n\n[[ ## value ## ]]\nforty\n\n[[ ## extra ## ]]\nplain words\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## labels ## ]]\na, b\n\n[[ ## value ## ]]\n\"7\"\n\n[[ ## extra ## ]]\nNone\n\n[[ ## completed ## ]]"),
            ("json", '{"labels": ["a"], "value": "x", "extra": [1, 2]}'),
            ("json", '{"labels": [], "value": 1.0, "extra": "s"}'),
            ("xml", "<labels><item>a</item><item>b &amp; c</item></labels><value>5</value><extra>text</extra>"),
            ("xml", "<labels>[\"a\", \"b\"]</labels><value>v</value><extra><k>1</k></extra>"),
        ],
    },
    {
        "name": "x_untyped_string_list_input",
        "signature": dspy.Signature("passages, question -> answer", "Answer from the passages."),
        "demos": [dspy.Example(passages=["Only one."], question="q?", answer="a")],
        "inputs": {"passages": ["First «quoted».", "Second\nwith a break.", "Third."], "question": "Which?"},
        "completions": [
            ("chat", "[[ ## answer ## ]]\n  spaced  \n\nmore\n[[ ## completed ## ]]"),
            ("chat", "prefix\n[[ ## answer ## ]]\nfirst\n[[ ## answer ## ]]\nsecond"),
            ("json", '{"answer": 42}'),
            ("json", '{"answer": {"a": [true, null]}}'),
            ("json", '[{"answer": "in a list"}]'),
            ("xml", "<answer>\n  A &amp; B &lt; C\n</answer>"),
            ("xml", "<answer>has <b>bold</b> text</answer>"),
            ("xml", "<answer>a < b</answer>"),
            ("xml", "no tags"),
        ],
    },
    {
        "name": "x_history",
        "signature": Chat,
        "demos": [dspy.Example(question="dq", answer="da")],
        "inputs": {"question": "And Spain?",
                   "history": dspy.History(messages=[{"question": "Capital of France?", "answer": "Paris"},
                                                     {"question": "And Italy?"},
                                                     {"answer": "Rome, I think."}])},
        "completions": [("chat", "[[ ## answer ## ]]\nMadrid\n\n[[ ## completed ## ]]")],
    },
    {
        "name": "x_empty_instructions_no_inputs",
        "signature": dspy.Signature("-> joke: str", ""),
        "inputs": {},
        "completions": [("chat", "[[ ## joke ## ]]\nha\n\n[[ ## completed ## ]]")],
    },
]

PROGRAMS = {}
