"""hone's modules from Python: Predict, ChainOfThought, ReAct with Python tools, BestOfN,
Refine, Parallel, MultiChainComparison, and ``hone.Module`` subclasses."""

from __future__ import annotations

import asyncio
import json

import pytest

import hone
from helpers import Recorder, completion, output_fields


def test_predict_and_chain_of_thought_typed_outputs(lm):
    out = hone.ChainOfThought("question -> answer: int")(question="What is 2 + 2?", lm=lm)
    assert out.answer == 4
    assert isinstance(out.reasoning, str) and out.reasoning
    pred = hone.Predict("question -> answer")(question="What is 2 + 2?", lm=lm)
    assert isinstance(pred.answer, str)
    assert pred["answer"] == pred.answer
    assert "answer" in pred.keys()


def test_wrong_input_field_names_the_predictor_and_field(lm):
    with pytest.raises(hone.InputError) as info:
        hone.Predict("question -> answer")(questoin="x", lm=lm)
    message = str(info.value)
    assert "`question`" in message and "questoin" in message
    with pytest.raises(TypeError, match="by name"):
        hone.Predict("question -> answer")("positional", lm=lm)


def test_inputs_are_checked_against_their_types():
    rec = Recorder("1")
    with pytest.raises(hone.InputError) as info:
        hone.Predict("context: list[str], question -> answer")(context=5, question="q", lm=hone.LM(client=rec))
    assert "context" in str(info.value)
    assert not rec.requests


def test_parse_failure_is_an_adapter_parse_error():
    def nonsense(request):
        return completion("I will not use your format.")

    with pytest.raises(hone.AdapterParseError) as info:
        hone.Predict("question -> answer: int")(question="q", lm=hone.LM(client=nonsense, cache=False))
    assert "answer" in str(info.value)


class RAG(hone.Module):
    def __init__(self):
        super().__init__()
        self.rewrite = hone.Predict("question -> query")
        self.answer = hone.ChainOfThought("context: list[str], question -> answer")

    def forward(self, question):
        query = self.rewrite(question=question).query
        context = [f"passage about {query}"]
        return self.answer(context=context, question=question)


def test_custom_module_forward_calls_other_modules(lm):
    program = RAG()
    out = program(question="What is the capital of France?", lm=lm)
    assert out.answer
    assert [n for n, _ in program.named_predictors()] == ["rewrite", "answer.predict"]
    sig = dict(program.named_predictors())["answer.predict"].signature
    assert list(sig.input_fields) == ["context", "question"]
    assert list(sig.output_fields) == ["reasoning", "answer"]


def test_exception_inside_forward_is_the_users_own():
    class Buggy(hone.Module):
        def __init__(self):
            super().__init__()
            self.p = hone.Predict("question -> answer")

        def forward(self, question):
            self.p(question=question)
            raise ValueError("my bug")

    with pytest.raises(ValueError, match="my bug"):
        Buggy()(question="q", lm=hone.LM(client=Recorder()))


def react_client(tool: str, args: dict):
    """Calls `tool` with `args` once, then finishes, then answers."""
    state = {"step": 0}

    def client(request):
        fields = output_fields(request)
        if "next_tool_name" in fields:
            state["step"] += 1
            name, call = (tool, args) if state["step"] == 1 else ("finish", {})
            body = (f"[[ ## next_thought ## ]]\nstep {state['step']}\n\n[[ ## next_tool_name ## ]]\n{name}\n\n"
                    f"[[ ## next_tool_args ## ]]\n{json.dumps(call)}\n\n[[ ## completed ## ]]")
            return completion(body)
        return completion("[[ ## reasoning ## ]]\ndone\n\n[[ ## answer ## ]]\nfinal\n\n[[ ## completed ## ]]")

    return client


def test_react_runs_python_tools_sync_and_async():
    seen = []

    def search(query: str, k: int = 3) -> list[str]:
        """Searches the wiki for `query`."""
        seen.append((query, k))
        return [f"hit for {query}"]

    async def lookup(term: str) -> str:
        """Looks a term up."""
        await asyncio.sleep(0)
        seen.append(term)
        return "defined"

    react = hone.ReAct("question -> answer", tools=[search, hone.Tool(lookup)])
    out = react(question="q", lm=hone.LM(client=react_client("search", {"query": "paris", "k": 2}), cache=False))
    assert out.answer == "final"
    assert seen == [("paris", 2)]
    assert out.trajectory["observation_0"] == ["hit for paris"]
    out = react(question="q", lm=hone.LM(client=react_client("lookup", {"term": "x"}), cache=False))
    assert seen[-1] == "x" and out.trajectory["observation_0"] == "defined"
    # The tools are described to the LM with their docstrings and argument types.
    rec = Recorder("finish")
    try:
        react(question="q", lm=hone.LM(client=rec, cache=False))
    except hone.HoneError:
        pass
    system = rec.requests[0]["messages"][0]["content"]
    assert "Searches the wiki for `query`." in system
    assert "It takes arguments {'query': {'type': 'string'}, 'k': {'type': 'integer', 'default': 3}}" in system


def test_a_tool_that_raises_becomes_an_observation():
    def boom(x: str) -> str:
        """Breaks."""
        raise RuntimeError("db down")

    react = hone.ReAct("question -> answer", tools=[boom])
    out = react(question="q", lm=hone.LM(client=react_client("boom", {"x": "a"}), cache=False))
    observation = out.trajectory["observation_0"]
    assert "boom" in observation and "db down" in observation


def test_best_of_n_and_refine_keep_the_best_by_reward(lm):
    def reward(args, pred):
        return 1.0 if str(pred.answer).strip() == "4" else 0.0

    qa = hone.ChainOfThought("question -> answer")
    best = hone.BestOfN(qa, N=3, reward_fn=reward, threshold=1.0)
    assert best(question="What is 2 + 2?", lm=lm).answer == "4"
    refine = hone.Refine(qa, N=3, reward_fn=reward, threshold=1.0)
    assert refine(question="What is 2 + 2?", lm=lm).answer == "4"
    # Over a Python module too.
    best_rag = hone.BestOfN(RAG(), N=2, reward_fn=lambda a, p: 1.0, threshold=1.0)
    assert best_rag(question="What is 2 + 2?", lm=lm).answer


def test_reward_that_raises_is_reported():
    def reward(args, pred):
        raise KeyError("no such label")

    best = hone.BestOfN(hone.Predict("question -> answer"), N=2, reward_fn=reward, threshold=1.0)
    with pytest.raises(hone.HoneError, match="no such label"):
        best(question="q", lm=hone.LM(client=Recorder(), cache=False))


def test_parallel_runs_pairs_and_marks_failures(lm):
    qa = hone.Predict("question -> answer")
    pairs = [(qa, {"question": f"What is {i} + 1?"}) for i in range(5)]
    pairs.append((qa, {"wrong": "field"}))
    results = hone.Parallel(num_threads=4)(pairs, lm=lm)
    assert len(results) == 6
    assert all(r is not None and r.answer for r in results[:5])
    assert results[5] is None
    again = asyncio.run(hone.Parallel(num_threads=4).acall(pairs[:2], lm=lm))
    assert [r.answer for r in again] == [r.answer for r in results[:2]]


def test_multi_chain_comparison(lm):
    attempts = [hone.Prediction(reasoning=f"attempt {i}", answer=str(i)) for i in range(3)]
    mcc = hone.MultiChainComparison("question -> answer", M=3)
    out = mcc(completions=attempts, question="What is 1 + 1?", lm=lm)
    assert out.answer and out.rationale


def test_deepcopy_is_independent():
    program = RAG()
    program.rewrite.demos = [hone.Example(question="a", query="b")]
    copy = program.deepcopy()
    copy.rewrite.demos = []
    assert len(program.rewrite.demos) == 1 and copy.rewrite.demos == []
    assert copy.answer is not program.answer
