"""Golden cases for DSPy's newer field types: enum.Enum classes and dspy.Code.

    python make_golden.py OUT_DIR cases_types.py
"""
import enum
from typing import Optional

import dspy
import pydantic


class Level(enum.Enum):
    """How urgent a ticket is."""

    LOW = "low"
    HIGH = "high"
    CRITICAL = "critical"


class Priority(enum.Enum):
    ONE = 1
    TWO = 2


class Color(enum.Enum):
    RED = "red"
    GREEN = "GREEN"
    BLUE = "RED"


class Ticket(pydantic.BaseModel):
    title: str
    level: Level
    backup: Optional[Level] = None


class Triage(dspy.Signature):
    """Triage the ticket."""

    ticket: str = dspy.InputField()
    reported: Level = dspy.InputField(desc="the level the customer chose")
    level: Level = dspy.OutputField(desc="the level you assign")
    priority: Priority = dspy.OutputField()
    color: Color = dspy.OutputField()


class TriageMany(dspy.Signature):
    """File the tickets."""

    text: str = dspy.InputField()
    levels: list[Level] = dspy.OutputField()
    ticket: Ticket = dspy.OutputField()
    maybe: Optional[Level] = dspy.OutputField()


class WriteCode(dspy.Signature):
    """Write the function the task asks for."""

    task: str = dspy.InputField()
    existing: dspy.Code["javascript"] = dspy.InputField(desc="code to port")
    code: dspy.Code["python"] = dspy.OutputField(desc="the function")
    test: dspy.Code["python"] = dspy.OutputField()


class Describe(dspy.Signature):
    """Describe the pictures."""

    photo: dspy.Image = dspy.InputField()
    question: str = dspy.InputField()
    gallery: list[dspy.Image] = dspy.InputField(desc="more pictures")
    extra: Optional[dspy.Image] = dspy.InputField()
    caption: str = dspy.OutputField()


PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

def _triage_program():
    program = dspy.Predict(Triage)
    program.demos = [
        dspy.Example(ticket="Site down", reported=Level.HIGH, level=Level.CRITICAL, priority=Priority.ONE,
                     color=Color.RED).with_inputs("ticket", "reported"),
    ]
    program.signature = program.signature.with_instructions("Triage the ticket by its urgency.")
    return program


def _code_program():
    program = dspy.Predict(WriteCode)
    program.demos = [dspy.Example(task="Add one", existing="const f = x => x + 1;", code="def f(x):\n    return x + 1",
                                  test="assert f(1) == 2").with_inputs("task", "existing")]
    return program


_TRIAGE = _triage_program()


def _describe_program():
    program = dspy.Predict(Describe)
    program.demos = [
        dspy.Example(photo=dspy.Image("https://example.com/cat.jpg"), question="What animal?",
                     gallery=[dspy.Image(PNG)], extra=None, caption="A cat.").with_inputs("photo", "question",
                                                                                          "gallery", "extra"),
    ]
    return program


_DESCRIBE = _describe_program()

CASES = [
    {
        # What the saved program `programs/image_describe.json` renders (its signature and demos).
        "name": "t_image_saved_program",
        "signature": _DESCRIBE.signature,
        "demos": _DESCRIBE.demos,
        "inputs": {"photo": dspy.Image(PNG), "question": "And this?", "gallery": [], "extra": None},
    },
    {
        "name": "t_image_inputs",
        "signature": Describe,
        "demos": [
            dspy.Example(photo=dspy.Image("https://example.com/cat.jpg"), question="What animal?",
                         gallery=[], extra=None, caption="A cat."),
            dspy.Example(photo=dspy.Image(PNG), question="Colour?", caption="One red pixel."),
        ],
        "inputs": {"photo": dspy.Image("https://example.com/dog.png"), "question": "What is it «doing»?",
                   "gallery": [dspy.Image(PNG), dspy.Image("https://example.com/b.webp")],
                   "extra": dspy.Image("https://example.com/e.gif")},
        "completions": [("chat", "[[ ## caption ## ]]\nA dog.\n\n[[ ## completed ## ]]")],
    },
    {
        # What the saved program `programs/enum_triage.json` renders (its signature and demos).
        "name": "t_enum_saved_program",
        "signature": _TRIAGE.signature,
        "demos": _TRIAGE.demos,
        "inputs": {"ticket": "Disk full", "reported": Level.HIGH},
        "completions": [("chat", "[[ ## level ## ]]\nCRITICAL\n\n[[ ## priority ## ]]\n2\n\n[[ ## color ## ]]\nGREEN\n\n[[ ## completed ## ]]")],
    },
    {
        "name": "t_enum_output_and_input",
        "signature": Triage,
        "demos": [
            dspy.Example(ticket="Site down", reported=Level.HIGH, level=Level.CRITICAL, priority=Priority.ONE,
                         color=Color.RED),
            dspy.Example(ticket="Typo", reported="low", level="low", priority=2, color="GREEN"),
        ],
        "inputs": {"ticket": "Login is slow", "reported": Level.LOW},
        "completions": [
            ("chat", "[[ ## level ## ]]\nhigh\n\n[[ ## priority ## ]]\n1\n\n[[ ## color ## ]]\nred\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## level ## ]]\nHIGH\n\n[[ ## priority ## ]]\nTWO\n\n[[ ## color ## ]]\nBLUE\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## level ## ]]\nRED\n\n[[ ## priority ## ]]\nONE\n\n[[ ## color ## ]]\nRED\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## level ## ]]\n'high'\n\n[[ ## priority ## ]]\nONE\n\n[[ ## color ## ]]\nred\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## level ## ]]\nLevel.HIGH\n\n[[ ## priority ## ]]\nONE\n\n[[ ## color ## ]]\nred\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## level ## ]]\nhigh\n\n[[ ## priority ## ]]\nthree\n\n[[ ## color ## ]]\nred\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## level ## ]]\nHigh\n\n[[ ## priority ## ]]\n2\n\n[[ ## color ## ]]\nGREEN\n\n[[ ## completed ## ]]"),
            ("json", '{"level": "critical", "priority": 2, "color": "GREEN"}'),
            ("json", '{"level": "LOW", "priority": "TWO", "color": "BLUE"}'),
            ("json", '{"level": "low", "priority": 2.0, "color": "red"}'),
            ("json", '{"level": "low", "priority": true, "color": "red"}'),
            ("json", '{"level": "low", "priority": "1", "color": "red"}'),
            ("json", '{"level": ["low"], "priority": 1, "color": "red"}'),
            ("xml", "<level>low</level><priority>ONE</priority><color>GREEN</color>"),
            ("xml", "<level>\n  CRITICAL\n</level><priority>2</priority><color>red</color>"),
            ("xml", "<level>medium</level><priority>1</priority><color>red</color>"),
        ],
    },
    {
        "name": "t_enum_nested",
        "signature": TriageMany,
        "demos": [
            dspy.Example(text="two tickets", levels=[Level.LOW, Level.HIGH],
                         ticket=Ticket(title="t", level=Level.HIGH), maybe=None),
            dspy.Example(text="one", levels=["critical"], ticket={"title": "u", "level": "low", "backup": "high"},
                         maybe=Level.LOW),
        ],
        "inputs": {"text": "Printer on fire"},
        "completions": [
            ("chat", '[[ ## levels ## ]]\n["low", "critical"]\n\n[[ ## ticket ## ]]\n{"title": "x", "level": "high"}\n\n'
                     "[[ ## maybe ## ]]\nlow\n\n[[ ## completed ## ]]"),
            ("chat", '[[ ## levels ## ]]\n["LOW"]\n\n[[ ## ticket ## ]]\n{"title": "x", "level": "high"}\n\n'
                     "[[ ## maybe ## ]]\nNone\n\n[[ ## completed ## ]]"),
            ("chat", '[[ ## levels ## ]]\n[]\n\n[[ ## ticket ## ]]\n{"title": "x", "level": "HIGH"}\n\n'
                     "[[ ## maybe ## ]]\nhigh\n\n[[ ## completed ## ]]"),
            ("chat", '[[ ## levels ## ]]\n[]\n\n[[ ## ticket ## ]]\n{"title": "x", "level": "low", "backup": "low"}\n\n'
                     "[[ ## maybe ## ]]\nHIGH\n\n[[ ## completed ## ]]"),
            ("json", '{"levels": ["high"], "ticket": {"title": "x", "level": "low"}, "maybe": null}'),
            ("json", '{"levels": ["high"], "ticket": {"title": "x", "level": "low"}, "maybe": "critical"}'),
            ("xml", "<levels><item>low</item><item>high</item></levels><ticket><title>x</title><level>low</level>"
                    "</ticket><maybe>high</maybe>"),
            ("xml", "<levels><item>low</item></levels><ticket><title>x</title><level>low</level></ticket><maybe></maybe>"),
        ],
    },
    {
        "name": "t_code_output_and_input",
        "signature": WriteCode,
        "demos": [
            dspy.Example(task="Add one", existing="const f = x => x + 1;", code="def f(x):\n    return x + 1",
                         test="assert f(1) == 2"),
            dspy.Example(task="Nothing", existing=dspy.Code["javascript"](code="let a;")),
        ],
        "inputs": {"task": "Double it", "existing": "function g(x) {\n  return 2 * x;\n}"},
        "completions": [
            ("chat", "[[ ## code ## ]]\n```python\ndef g(x):\n    return 2 * x\n```\n\n[[ ## test ## ]]\n"
                     "```python\nassert g(2) == 4\n```\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## code ## ]]\ndef g(x): return 2 * x\n\n[[ ## test ## ]]\n```assert g(1) == 2```\n\n"
                     "[[ ## completed ## ]]"),
            ("chat", "[[ ## code ## ]]\nHere it is:\n```py\nx = [1, 2]\n```\nand more\n```\ny = 3\n```\n\n"
                     "[[ ## test ## ]]\n{\"code\": \"assert True\"}\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## code ## ]]\n[1, 2, 3]\n\n[[ ## test ## ]]\n\"quoted\"\n\n[[ ## completed ## ]]"),
            ("chat", "[[ ## code ## ]]\n```python\nprint('unclosed')\n\n[[ ## test ## ]]\n{'a': 1}\n\n[[ ## completed ## ]]"),
            ("json", '{"code": "```python\\ndef g(x):\\n    return 2 * x\\n```", "test": "assert g(1) == 2"}'),
            ("json", '{"code": {"code": "```\\nz = 1\\n```"}, "test": {"code": "t"}}'),
            ("json", '{"code": {"src": "z = 1"}, "test": "t"}'),
            ("json", '{"code": 42, "test": "t"}'),
            ("xml", "<code>\n```python\ndef g(x):\n    return 2 * x\n```\n</code>\n<test>assert g(1) == 2</test>"),
            ("xml", "<code>a &lt; b</code><test></test>"),
        ],
    },
]



PROGRAMS = {"enum_triage": _TRIAGE, "image_describe": _DESCRIBE, "code_writer": _code_program()}
