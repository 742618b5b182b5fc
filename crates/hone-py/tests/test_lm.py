"""LMs are values: bound per call, per module or per predictor; no global state."""

from __future__ import annotations

import asyncio
import threading

import pytest

import hone
from helpers import Recorder, completion


class TwoSteps(hone.Module):
    def __init__(self) -> None:
        super().__init__()
        self.draft = hone.Predict("question -> draft")
        self.answer = hone.ChainOfThought("question, draft -> answer")

    def forward(self, question: str) -> hone.Prediction:
        draft = self.draft(question=question).draft
        return self.answer(question=question, draft=draft)


def test_call_lm_reaches_every_inner_predictor():
    rec = Recorder("x", name="a")
    lm = hone.LM(client=rec, model="a", cache=False)
    out = TwoSteps()(question="q", lm=lm)
    assert out.answer == "x"
    assert len(rec.requests) == 2
    assert [r["model"] for r in rec.requests] == ["a", "a"]


def test_call_lm_before_predictor_lm_before_nothing():
    call_rec, own_rec = Recorder("c"), Recorder("o")
    call_lm, own_lm = hone.LM(client=call_rec, model="call", cache=False), hone.LM(client=own_rec, model="own", cache=False)
    program = TwoSteps()
    program.draft.set_lm(own_lm)
    # A call's LM wins over a predictor's own.
    program(question="q", lm=call_lm)
    assert len(call_rec.requests) == 2 and not own_rec.requests
    # Without one, the predictor with its own LM uses it; the other has none: an error that says how.
    with pytest.raises(hone.NoLMError) as info:
        program(question="q")
    assert len(own_rec.requests) == 1
    message = str(info.value)
    assert "answer" in message and "lm=" in message
    # set_lm on the module reaches every predictor.
    program.set_lm(own_lm)
    program(question="q")
    assert len(own_rec.requests) == 3
    assert program.get_lm() is own_lm


def test_set_lm_through_named_predictors():
    rec = Recorder("y")
    program = TwoSteps()
    names = [name for name, _ in program.named_predictors()]
    assert names == ["draft", "answer.predict"]
    for _, predictor in program.named_predictors():
        predictor.set_lm(hone.LM(client=rec, cache=False))
    assert program(question="q").answer == "y"


def test_missing_lm_names_the_predictor_and_how_to_pass_one():
    with pytest.raises(hone.NoLMError) as info:
        hone.Predict("question -> answer")(question="q")
    message = str(info.value)
    assert "lm=" in message
    assert "set_lm" in message
    assert isinstance(info.value, hone.HoneError)


def test_two_concurrent_calls_of_one_program_never_share_an_lm_threads():
    barrier = threading.Barrier(2)
    rec_a, rec_b = Recorder("from-a", barrier=barrier), Recorder("from-b", barrier=barrier)
    lm_a, lm_b = hone.LM(client=rec_a, model="a", cache=False), hone.LM(client=rec_b, model="b", cache=False)
    program = TwoSteps()
    results = {}

    def run(key, lm):
        results[key] = program(question=key, lm=lm).answer

    threads = [threading.Thread(target=run, args=("a", lm_a)), threading.Thread(target=run, args=("b", lm_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == {"a": "from-a", "b": "from-b"}
    assert all(r["model"] == "a" for r in rec_a.requests)
    assert all(r["model"] == "b" for r in rec_b.requests)


def test_two_concurrent_calls_of_one_program_never_share_an_lm_asyncio():
    barrier = threading.Barrier(2)
    rec_a, rec_b = Recorder("from-a", barrier=barrier), Recorder("from-b", barrier=barrier)
    lm_a, lm_b = hone.LM(client=rec_a, model="a", cache=False), hone.LM(client=rec_b, model="b", cache=False)
    program = hone.ChainOfThought("question -> answer")

    async def main():
        return await asyncio.gather(program.acall(question="a", lm=lm_a), program.acall(question="b", lm=lm_b))

    a, b = asyncio.run(main())
    assert (a.answer, b.answer) == ("from-a", "from-b")


def test_async_client_and_openai_style_response_objects():
    async def client(request):
        await asyncio.sleep(0)
        return completion("[[ ## answer ## ]]\nasync\n\n[[ ## completed ## ]]")

    class Response:
        def __init__(self, body):
            self.body = body

        def model_dump(self):
            return self.body

    def object_client(request):
        return Response(completion("[[ ## answer ## ]]\nobject\n\n[[ ## completed ## ]]"))

    predict = hone.Predict("question -> answer")
    assert predict(question="q", lm=hone.LM(client=client)).answer == "async"
    assert predict(question="q", lm=hone.LM(client=object_client)).answer == "object"


def test_client_errors_are_lm_errors_with_the_cause():
    def broken(request):
        raise ConnectionError("in-house gateway down")

    def wrong(request):
        return 17

    predict = hone.Predict("question -> answer")
    with pytest.raises(hone.LMError, match="in-house gateway down"):
        predict(question="q", lm=hone.LM(client=broken))
    with pytest.raises(hone.HoneError, match="int"):
        predict(question="q", lm=hone.LM(client=wrong))


def test_client_gets_the_request_and_defaults():
    rec = Recorder("z")
    lm = hone.LM(client=rec, model="house-model", cache=False)
    hone.Predict("question -> answer")(question="What?", lm=lm, config={"temperature": 0.5})
    request = rec.requests[0]
    assert request["model"] == "house-model"
    assert request["messages"][0]["role"] == "system"
    assert "What?" in request["messages"][-1]["content"]
    assert request["temperature"] == 0.5


def test_http_lm_usage_and_cache(sim):
    lm = sim.lm(cache=True)
    predict = hone.Predict("question -> answer")
    predict(question="What is 2 + 2?", lm=lm)
    predict(question="What is 2 + 2?", lm=lm)
    usage = lm.usage()
    assert usage["calls"] == 2
    assert usage["cached_calls"] == 1
    assert usage["prompt_tokens"] > 0
    lm.reset_usage()
    assert lm.usage()["calls"] == 0


def test_http_lm_settings_are_checked(sim):
    with pytest.raises((ValueError, hone.HoneError), match="timeout"):
        sim.lm(timeout=-1)
    with pytest.raises(TypeError, match="model"):
        hone.LM()
    with pytest.raises(TypeError, match="hone.LM"):
        hone.Predict("q -> a")(q="x", lm="gpt-4o-mini")


def test_unreachable_server_is_an_lm_error():
    lm = hone.LM("m", base_url="http://127.0.0.1:9/v1", api_key="k", num_retries=0, cache=False)
    with pytest.raises(hone.LMError) as info:
        hone.Predict("question -> answer")(question="q", lm=lm)
    assert "127.0.0.1:9" in str(info.value)


def test_the_package_requires_nothing():
    from importlib.metadata import requires

    required = [r for r in (requires("hone") or []) if "extra ==" not in r]
    assert required == [], f"hone must install with no dependencies, but requires {required}"


def test_usage_per_call_and_per_run(sim):
    lm_a, lm_b = sim.lm("model-a"), sim.lm("model-b")
    program = TwoSteps()
    program.draft.set_lm(lm_b)
    program.answer.set_lm(lm_a)
    pred = program(question="What is 2 + 2?")
    usage = pred.get_lm_usage()
    assert set(usage) == {"model-a", "model-b"}
    assert usage["model-a"]["calls"] == 1 and usage["model-b"]["calls"] == 1
    assert usage["model-a"]["total_tokens"] == usage["model-a"]["prompt_tokens"] + usage["model-a"]["completion_tokens"] > 0
    single = hone.Predict("question -> answer")(question="q", lm=lm_a).get_lm_usage()
    assert single["model-a"]["calls"] == 1
    # Per run: the LM's own counters add up every call made through it.
    assert lm_a.usage()["calls"] == 2 and lm_b.usage()["calls"] == 1
