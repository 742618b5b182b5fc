"""The Python section of bench/run: hone's Python package and DSPy, each driven from Python,
against the same simulated server. Run it with the venv of the side it measures (hone's venv
for `--side hone` and `--side httpx`, DSPy's for `--side dspy`).

Each command prints one JSON object on stdout:

  overhead     --side {hone,dspy} --base-url URL [--calls N] [--repeats R]
      Sequential `Predict("question -> answer: int")` calls at 0 ms latency, sync
      (`program(...)`) and async (`await program.acall(...)` in one task), each against a bare
      httpx client (`httpx.Client` / `httpx.AsyncClient`) posting the same messages the
      framework renders; the median of R rounds.
  concurrency  --side {hone,dspy,httpx} --mode {asyncio,threads,gevent} --variant V --base-url URL
               [--calls 64] [--rounds R]
      CALLS calls at once — asyncio tasks, threads, or gevent greenlets (the process is
      monkey-patched first) — each binding its LM the way the variant says:
        hone   lm          the LM passed to each call: `program(question=q, lm=lm)`
        dspy   configure   `dspy.configure(lm=lm)` once, in the main thread, before the calls
               configure-each  `dspy.configure(lm=lm)` in each task, thread or greenlet
               context     `with dspy.context(lm=lm):` in each task, thread or greenlet
        httpx  bare        the bare client posting the same request, no framework
      The wall time of each round (from the start of the calls to the end of the last one), the
      calls that failed and why. Every side makes one call first (imports, one connection); the
      first round opens the other connections.

Both sides: one LM, cache off, no retries; the model `sim-1` with DSPy's `openai/` prefix.
"""

from __future__ import annotations

import sys

# gevent patches the standard library before anything else imports it.
if "--mode" in sys.argv and sys.argv[sys.argv.index("--mode") + 1 :][:1] == ["gevent"]:
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import hashlib  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402

SIGNATURE = "question -> answer: int"
MODEL = "openai/sim-1"
VARIANTS = {"hone": ["lm"], "dspy": ["configure", "configure-each", "context"], "httpx": ["bare"]}


def question(i):
    return f"What is {i} + {i + 1}?"


class Hone:
    """hone's side: `hone.Predict` with the LM passed to every call."""

    name = "hone"

    def __init__(self, base_url):
        import hone

        self.hone = hone
        self.base_url = base_url
        self.lm = hone.LM(MODEL, base_url=base_url, api_key="unused", cache=False, num_retries=0)
        self.predict = hone.Predict(SIGNATURE)

    def messages(self, q):
        """The messages hone sends for `q`, taken from the request hone hands its LM."""
        seen = []

        def capture(request):
            seen.append(request)
            return {"choices": [{"message": {"role": "assistant", "content": "[[ ## answer ## ]]\n0\n\n[[ ## completed ## ]]"}}]}

        self.predict(question=q, lm=self.hone.LM("sim-1", client=capture, cache=False))
        return seen[0]["messages"]

    def call(self, q):
        return self.predict(question=q, lm=self.lm)

    async def acall(self, q):
        return await self.predict.acall(question=q, lm=self.lm)

    def warm_up(self):
        self.call(question(0))

    async def async_warm_up(self, worker):
        await worker(question(0))

    def worker(self, variant):
        return self.call

    def async_worker(self, variant):
        return self.acall


class Dspy:
    """DSPy's side: `dspy.Predict`, its LM bound as the variant says."""

    name = "dspy"

    def __init__(self, base_url):
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("DSPY_CACHEDIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "hone-bench-dspy-cache"))
        import dspy

        logging.disable(logging.WARNING)
        self.dspy = dspy
        self.lm = dspy.LM(MODEL, api_base=base_url, api_key="unused", cache=False, num_retries=0)
        self.predict = dspy.Predict(SIGNATURE)

    def messages(self, q):
        return self.dspy.ChatAdapter().format(self.predict.signature, demos=[], inputs={"question": q})

    def call(self, q):
        """A call with the LM `dspy.configure` set."""
        return self.predict(question=q)

    async def acall(self, q):
        return await self.predict.acall(question=q)

    def warm_up(self):
        # A call that binds nothing process-wide, so that `configure-each` starts unconfigured.
        with self.dspy.context(lm=self.lm):
            self.predict(question=question(0))

    async def async_warm_up(self, worker):
        with self.dspy.context(lm=self.lm):
            await self.predict.acall(question=question(0))

    def prepare(self, variant):
        """Done once in the main thread before the calls start."""
        if variant == "configure":
            self.dspy.configure(lm=self.lm)

    def worker(self, variant):
        dspy, lm, predict = self.dspy, self.lm, self.predict
        if variant == "configure":
            return lambda q: predict(question=q)
        if variant == "configure-each":
            def call(q):
                dspy.configure(lm=lm)
                return predict(question=q)
            return call

        def call(q):
            with dspy.context(lm=lm):
                return predict(question=q)
        return call

    def async_worker(self, variant):
        dspy, lm, predict = self.dspy, self.lm, self.predict
        if variant == "configure":
            return lambda q: predict.acall(question=q)
        if variant == "configure-each":
            async def call(q):
                dspy.configure(lm=lm)
                return await predict.acall(question=q)
            return call

        async def call(q):
            with dspy.context(lm=lm):
                return await predict.acall(question=q)
        return call


class Bare:
    """No framework: httpx posting the request hone renders (the two render the same bytes)."""

    name = "httpx"

    def __init__(self, base_url):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.client = httpx.Client(timeout=60)
        self.messages_of = Hone(base_url).messages

    def body(self, q):
        return {"model": "sim-1", "messages": self.messages_of(q)}

    def warm_up(self):
        self.client.post(self.url, json=self.body(question(0))).raise_for_status()

    async def async_warm_up(self, worker):
        await worker(question(0))

    def worker(self, variant):
        def call(q):
            response = self.client.post(self.url, json=self.bodies[q])
            response.raise_for_status()
            return response.json()
        return call

    def async_worker(self, variant):
        client = None

        async def call(q):
            nonlocal client
            if client is None:
                client = httpx.AsyncClient(timeout=60)
            response = await client.post(self.url, json=self.bodies[q])
            response.raise_for_status()
            return response.json()
        return call


SIDES = {"hone": Hone, "dspy": Dspy, "httpx": Bare}


def versions():
    """The versions of Python and of the packages this process measured with."""
    out = {"python": platform.python_version()}
    for name in ("hone", "dspy", "litellm", "openai", "httpx", "gevent"):
        if name in sys.modules:
            out[name] = importlib.metadata.version(name)
    return out


def answered(prediction):
    if isinstance(prediction, dict):
        return "choices" in prediction
    return isinstance(getattr(prediction, "answer", None), int)


def overhead(args):
    side = SIDES[args.side](args.base_url)
    questions = [question(i) for i in range(args.calls)]
    messages = [side.messages(q) for q in questions]
    bodies = [{"model": "sim-1", "messages": m} for m in messages]
    # The same prompt on both sides: the digest of the messages each renders for one question.
    digest = hashlib.sha256(json.dumps(side.messages(question(1)), sort_keys=True).encode()).hexdigest()
    url = args.base_url.rstrip("/") + "/chat/completions"
    client = httpx.Client(timeout=60)
    if args.side == "dspy":
        side.dspy.configure(lm=side.lm)

    def per_call(started):
        return (time.perf_counter() - started) * 1e6 / args.calls

    def raw_sync():
        started = time.perf_counter()
        for body in bodies:
            assert "choices" in client.post(url, json=body).json()
        return per_call(started)

    def framework_sync():
        started = time.perf_counter()
        for q in questions:
            assert answered(side.call(q))
        return per_call(started)

    async def raw_async(aclient):
        started = time.perf_counter()
        for body in bodies:
            assert "choices" in (await aclient.post(url, json=body)).json()
        return per_call(started)

    async def framework_async():
        started = time.perf_counter()
        for q in questions:
            assert answered(await side.acall(q))
        return per_call(started)

    out = {"calls": args.calls, "repeats": args.repeats, "messages_sha256": digest}
    raw_sync(), framework_sync()  # warm up: connections, lazy imports
    raw, framework = [], []
    for _ in range(max(1, args.repeats)):
        raw.append(raw_sync())
        framework.append(framework_sync())
    out.update(raw_us=statistics.median(raw), framework_us=statistics.median(framework))
    out["overhead_us"] = out["framework_us"] - out["raw_us"]

    async def run_async():
        async with httpx.AsyncClient(timeout=60) as aclient:
            await raw_async(aclient), await framework_async()
            raw, framework = [], []
            for _ in range(max(1, args.repeats)):
                raw.append(await raw_async(aclient))
                framework.append(await framework_async())
        return statistics.median(raw), statistics.median(framework)

    out["async_raw_us"], out["async_framework_us"] = asyncio.run(run_async())
    out["async_overhead_us"] = out["async_framework_us"] - out["async_raw_us"]
    out["versions"] = versions()
    print(json.dumps(out))


def errors_of(results):
    """Failed calls counted by their error, e.g. {"RuntimeError: dspy.settings can ...": 63}."""
    counts = collections.Counter(f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException))
    return dict(counts.most_common())


def run_threads(worker, questions):
    results = [None] * len(questions)
    start = threading.Barrier(len(questions) + 1)

    def run(i):
        start.wait()
        try:
            results[i] = worker(questions[i])
        except Exception as e:  # recorded per call
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    start.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - started, results


def run_gevent(worker, questions):
    import gevent

    def run(q):
        try:
            return worker(q)
        except Exception as e:  # recorded per call
            return e

    started = time.perf_counter()
    greenlets = [gevent.spawn(run, q) for q in questions]
    gevent.joinall(greenlets)
    return time.perf_counter() - started, [g.value for g in greenlets]


def run_asyncio(worker, questions):
    async def main():
        started = time.perf_counter()
        results = await asyncio.gather(*(worker(q) for q in questions), return_exceptions=True)
        return time.perf_counter() - started, results

    return main()


def concurrency(args):
    if args.variant not in VARIANTS[args.side]:
        raise SystemExit(f"--side {args.side} has the variants {VARIANTS[args.side]}, not {args.variant!r}")
    side = SIDES[args.side](args.base_url)
    questions = [question(i) for i in range(1, args.calls + 1)]
    if args.side == "httpx":
        side.bodies = {q: side.body(q) for q in [question(0), *questions]}
    # `configure-each` is measured once: after one round, every later thread or task is a
    # stranger to the one that configured DSPy, so each of its calls would fail.
    rounds = 1 if args.variant == "configure-each" else max(1, args.rounds)
    walls, failed, answered_calls, errors = [], [], [], collections.Counter()

    def record(wall, results):
        walls.append(wall)
        failed.append(sum(isinstance(r, BaseException) for r in results))
        answered_calls.append(sum(answered(r) for r in results if not isinstance(r, BaseException)))
        errors.update(errors_of(results))

    if args.mode == "asyncio":
        async def main():
            worker = side.async_worker(args.variant)
            await side.async_warm_up(worker)
            if args.side == "dspy":
                side.prepare(args.variant)
            for _ in range(rounds):
                record(*await run_asyncio(worker, questions))

        asyncio.run(main())
    else:
        side.warm_up()
        if args.side == "dspy":
            side.prepare(args.variant)
        worker = side.worker(args.variant)
        run = run_threads if args.mode == "threads" else run_gevent
        for _ in range(rounds):
            record(*run(worker, questions))
    print(json.dumps({
        "mode": args.mode, "variant": args.variant, "calls": args.calls, "rounds": rounds,
        "wall_s": statistics.median(walls), "walls_s": walls, "failed": failed,
        "answered": answered_calls, "errors": dict(errors.most_common()), "versions": versions(),
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("overhead")
    p.add_argument("--side", required=True, choices=["hone", "dspy"])
    p.add_argument("--base-url", required=True)
    p.add_argument("--calls", type=int, default=500)
    p.add_argument("--repeats", type=int, default=5)
    p = sub.add_parser("concurrency")
    p.add_argument("--side", required=True, choices=list(SIDES))
    p.add_argument("--mode", required=True, choices=["asyncio", "threads", "gevent"])
    p.add_argument("--variant", required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--calls", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    {"overhead": overhead, "concurrency": concurrency}[args.command](args)


if __name__ == "__main__":
    main()
