# From DSPy's documentation (dspy.ai, "Agents" in the Programming overview): ReAct with
# Python functions as tools and a float answer. The tools are local stand-ins for the
# documentation's interpreter and ColBERT search.
import dspy


def evaluate_math(expression: str):
    return str(eval(expression, {"__builtins__": {}}))


def search_wikipedia(query: str):
    return [f"{query} is a topic on Wikipedia."]


def run(lm):
    react = dspy.ReAct("question -> answer: float", tools=[evaluate_math, search_wikipedia])
    react.set_lm(lm)
    pred = react(question="What is 9362158 divided by the year of birth of David Gregory of Kinnairdy castle?")
    return {"answer": pred.answer}
