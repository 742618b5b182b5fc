# From DSPy's documentation (dspy.ai, "Programming overview" and the README's
# classification example): a class-based signature with a Literal and a float output.
import dspy
from typing import Literal


class Classify(dspy.Signature):
    """Classify sentiment of a given sentence."""

    sentence: str = dspy.InputField()
    sentiment: Literal["positive", "negative", "neutral"] = dspy.OutputField()
    confidence: float = dspy.OutputField()


def run(lm):
    classify = dspy.Predict(Classify)
    classify.set_lm(lm)
    out = classify(sentence="This book was super fun to read, though not the last chapter.")
    return {"sentiment": out.sentiment, "confidence": out.confidence}
