"""A first hone program from Python: a typed signature, a custom module, one LM passed per
call, an evaluation, and 32 calls at once from asyncio.

    hone sim --port 8090 &                      # a simulated OpenAI-compatible LM
    python examples/python/first_program.py http://127.0.0.1:8090/v1

Against a real server, pass its base URL and set OPENAI_API_KEY (or the LM's api_key_env).
"""

from __future__ import annotations

import asyncio
import sys
import time

import hone


class Arithmetic(hone.Signature):
    """Answer the arithmetic question with a number."""

    question: str = hone.InputField()
    answer: int = hone.OutputField()


class Solver(hone.Module):
    def __init__(self) -> None:
        super().__init__()
        self.solve = hone.ChainOfThought(Arithmetic)

    def forward(self, question: str) -> hone.Prediction:
        return self.solve(question=question)


def main(base_url: str) -> None:
    lm = hone.LM("sim", base_url=base_url, api_key_env=None, cache=False)
    solver = Solver()

    pred = solver(question="What is 12 + 30?", lm=lm)
    print(f"answer: {pred.answer!r} ({type(pred.answer).__name__})")
    print(f"reasoning: {pred.reasoning}")

    devset = [
        hone.Example(question=f"What is {a} + {b}?", answer=a + b).with_inputs("question")
        for a, b in [(1, 2), (3, 4), (10, 5), (7, 7), (20, 22), (9, 1)]
    ]
    result = hone.Evaluate(devset=devset, metric=lambda ex, p: ex.answer == p.answer)(solver, lm=lm)
    print(f"evaluation: {result}")

    async def many() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(solver.acall(question=f"What is {i} + 1?", lm=lm) for i in range(32)))
        return time.perf_counter() - start

    print(f"32 concurrent calls from asyncio: {asyncio.run(many()):.2f} s")
    print(f"usage: {lm.usage()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8090/v1")
