# From DSPy's documentation (dspy.ai, the RAG tutorial): a custom module whose forward
# retrieves and calls a ChainOfThought, and a demo set on its predictor.
import dspy


def search(query: str, k: int = 3) -> list[str]:
    corpus = [
        "The Eiffel Tower is in Paris.",
        "Paris is the capital of France.",
        "France is in Europe.",
    ]
    return corpus[:k]


class RAG(dspy.Module):
    def __init__(self, num_docs=3):
        self.num_docs = num_docs
        self.respond = dspy.ChainOfThought("context, question -> response")

    def forward(self, question):
        context = search(question, k=self.num_docs)
        return self.respond(context=context, question=question)


def run(lm):
    rag = RAG()
    rag.respond.predict.demos = [
        dspy.Example(
            context=["Rome is the capital of Italy."],
            question="What is the capital of Italy?",
            reasoning="The context says so.",
            response="Rome",
        )
    ]
    rag.set_lm(lm)
    return {"response": rag(question="Where is the Eiffel Tower?").response}
