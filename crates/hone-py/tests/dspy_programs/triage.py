# From DSPy's documentation (dspy.ai, "Signatures": class-based signatures with typed
# outputs), with an enum.Enum output as DSPy 3.4's type support describes.
import enum

import dspy


class Urgency(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Triage(dspy.Signature):
    """Triage the support ticket."""

    ticket: str = dspy.InputField()
    urgency: Urgency = dspy.OutputField()
    team: str = dspy.OutputField(desc="the team that should answer")


def run(lm):
    triage = dspy.Predict(Triage)
    triage.set_lm(lm)
    out = triage(ticket="The checkout page returns a 500 error for every customer.")
    return {"urgency": out.urgency.value, "team": out.team}
