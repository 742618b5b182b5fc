# From DSPy's documentation (dspy.ai, "Information extraction" in the Programming overview):
# list and list-of-dict outputs with a description.
import dspy


class ExtractInfo(dspy.Signature):
    """Extract structured information from text."""

    text: str = dspy.InputField()
    title: str = dspy.OutputField()
    headings: list[str] = dspy.OutputField()
    entities: list[dict[str, str]] = dspy.OutputField(desc="a list of entities and their metadata")


def run(lm):
    module = dspy.Predict(ExtractInfo)
    module.set_lm(lm)
    text = (
        "Apple Inc. announced its latest iPhone 14 today."
        "The CEO, Tim Cook, highlighted its new features in a press release."
    )
    response = module(text=text)
    return {"title": response.title, "headings": response.headings, "entities": response.entities}
