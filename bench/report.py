"""Renders bench/results/raw.jsonl (written by bench/run) as bench/RESULTS.md on stdout."""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess

LATENCY_S = 0.2
OPT_CONCURRENCY = 64


def load(path):
    """Every measurement by (section, side), in the order measured."""
    rows = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                rows.setdefault((r["section"], r["side"]), []).append(r)
    return rows


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def yes(ok):
    return "—" if ok is None else ("yes" if ok else "**no**")


def optimize_rows(rows, w):
    """The optimization from Python against the same one from the CLI, and driven over Celery
    (bench/python/optimize.py)."""
    cli = {r["kind"]: r for r in rows.get(("py-optimize", "cli"), [])}
    py = {r["kind"]: r for r in rows.get(("py-optimize", "python"), [])}
    celery = {r["kind"]: r for r in rows.get(("py-optimize", "celery"), [])}
    kinds = [k for k in cli if k in py]
    if not kinds:
        return
    bound = lambda r: -(-r["lm_calls"] // r.get("concurrency", 8)) * LATENCY_S  # noqa: E731
    w("\n### An optimization from Python and from the CLI (200 ms latency)\n")
    w("The program, data, metric, settings and seed of `testdata/programs/sentiment.toml` (one `Predict`, JSON "
      "adapter, 20 train and 20 dev reviews) with the optimizer below, concurrency 8: `hone optimize` (the "
      "whole process: it also scores the baseline and the best on dev) and `compile` from Python "
      "(`bench/python/optimize.py`), each against a fresh simulator. The bound is `⌈LM calls ÷ 8⌉ × 200 ms`; "
      "`Python ÷ CLI` compares the two walls each divided by its own bound.\n")
    w("| optimizer | CLI wall (s) | CLI LM calls | CLI ÷ bound | Python wall (s) | Python LM calls | Python ÷ bound | Python ÷ CLI | met (≤ 1.10) | same best program |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for kind in kinds:
        c, p = cli[kind], py[kind]
        cb, pb = c["wall_s"] / bound(c), p["wall_s"] / bound(p)
        w(f"| {kind} | {c['wall_s']:.2f} | {c['lm_calls']} | {cb:.3f} | {p['wall_s']:.2f} | {p['lm_calls']} | "
          f"{pb:.3f} | {pb / cb:.3f} | {yes(pb / cb <= 1.10)} | {yes(c['best'] == p['best'])} |")
    kinds = [k for k in kinds if k in celery]
    if not kinds:
        return
    w("\n### The same optimization over Celery (200 ms latency)\n")
    w("Driven from Python with `run.ask()`/`run.tell()` (`examples/celery/optimize.py`'s `Jobs`: each job "
      "goes out as soon as the optimizer hands it out, each result is told as soon as it comes in), its jobs "
      "Celery tasks on two worker processes on the gevent pool with a Redis broker, each worker's executor "
      "allowed 4 LM calls at once (8 in all, as in process). The bound is `⌈LM calls ÷ 8⌉ × 200 ms`. A job is "
      "a whole candidate's evaluation and runs on one worker with that worker's 4, where in process it may "
      "use all 8: while the optimizer has fewer jobs than workers out, half the concurrency waits.\n")
    w("| optimizer | Celery wall (s) | LM calls | Celery ÷ bound | in-process Python ÷ bound | Celery ÷ in process | same best program |")
    w("|---|---:|---:|---:|---:|---:|---|")
    for kind in kinds:
        p, q = py[kind], celery[kind]
        qb, pb = q["wall_s"] / bound(q), p["wall_s"] / bound(p)
        w(f"| {kind} | {q['wall_s']:.2f} | {q['lm_calls']} | {qb:.3f} | {pb:.3f} | {q['wall_s'] / p['wall_s']:.3f} | "
          f"{yes(q['best'] == p['best'])} |")


def python_section(rows):
    """The Python section (bench/python/bench.py): lines of markdown, or none if it did not run."""
    by_variant = {}
    for (section, side), rs in rows.items():
        if section.startswith("py-"):
            for r in rs:
                by_variant[(section, side, r.get("variant"))] = r
    if not by_variant:
        return []
    out = []
    w = out.append
    hone_v = (by_variant.get(("py-overhead", "hone", None)) or {}).get("versions", {})
    dspy_v = (by_variant.get(("py-overhead", "dspy", None)) or {}).get("versions", {})
    w("## Python: hone's package and DSPy, both called from Python\n")
    listed = lambda v: ", ".join(f"{k} {x}" for k, x in v.items()) or "versions not recorded"  # noqa: E731
    w(f"`bench/python/bench.py`, run by hone's venv (the wheel built from this tree; {listed(hone_v)}) and "
      f"by DSPy's ({listed(dspy_v)}; the packages each process had loaded) "
      "against the same `hone-sim` servers. Both sides: `Predict(\"question -> answer: int\")`, "
      "one LM (`openai/sim-1`), cache off, no retries.\n")
    w("### Per-call cost of `Predict` from Python (0 ms latency, sequential)\n")
    w("Each process times its framework's `Predict` calls against a bare httpx client of its own venv "
      "posting the same messages (`httpx.Client` for `program(...)`, `httpx.AsyncClient` in one task "
      "for `await program.acall(...)`); the median of several rounds. `above httpx` is the "
      "framework's time per call minus the bare client's; hone's HTTP client is reqwest, so its "
      "number is negative when reqwest and hone together cost less than httpx alone. DSPy's process "
      "loads httpx and not litellm for its `openai/` LM.\n")
    ho, do = by_variant.get(("py-overhead", "hone", None)), by_variant.get(("py-overhead", "dspy", None))
    same = None if not (ho and do) else ho.get("messages_sha256") == do.get("messages_sha256")
    w("| call | hone (µs) | httpx beside hone (µs) | hone above httpx (µs) | DSPy (µs) | httpx beside DSPy (µs) | DSPy above httpx (µs) | hone ÷ DSPy | met (hone < 100 µs above httpx) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, prefix in [("`program(question=...)`", ""), ("`await program.acall(question=...)`", "async_")]:
        g = lambda r, k: None if r is None else r.get(prefix + k)  # noqa: E731
        hf, hr, hov = g(ho, "framework_us"), g(ho, "raw_us"), g(ho, "overhead_us")
        df, dr, dov = g(do, "framework_us"), g(do, "raw_us"), g(do, "overhead_us")
        w(f"| {label} | {fmt(hf, 1)} | {fmt(hr, 1)} | {fmt(hov, 1)} | {fmt(df, 1)} | {fmt(dr, 1)} | {fmt(dov, 1)} | "
          f"{fmt(ratio(hf, df), 3)} | {yes(None if hov is None else hov < 100)} |")
    calls = " / ".join(str(r.get("calls")) for r in (ho, do) if r)
    w(f"\nCalls per round (hone / DSPy): {calls}. The two sides send the same prompt "
      f"(digest of the rendered messages equal): {yes(same)}.\n")

    modes = [("asyncio", "asyncio tasks (`await program.acall(...)`)"), ("threads", "threads (`program(...)`)"),
             ("gevent", "gevent greenlets (`program(...)`, `monkey.patch_all()`)")]
    if not any((f"py-{m}", "hone", "lm") in by_variant for m, _ in modes):
        return out
    n = next(r.get("calls") for k, r in by_variant.items() if k[0] != "py-overhead")
    w(f"### {n} calls at once at 200 ms latency\n")
    w(f"{n} calls started together from asyncio tasks, threads or gevent greenlets; the wall time from the "
      f"start of the calls to the end of the last, as a multiple of one latency (the ideal is 1.0; the "
      f"median of the rounds; every process makes one call before, so that imports are done, and the "
      f"first round opens its connections). Each hone call passes its LM (`program(question=q, lm=lm)`). "
      f"DSPy binds its LM in one of three ways: `dspy.configure(lm=lm)` once in the main thread before "
      f"the calls (its documented default), `dspy.configure` in each task, thread or greenlet (as a "
      f"program does when each worker picks its own LM), or `with dspy.context(lm=lm):` in each. "
      f"`failed` counts the calls that raised, of {n}. The bare httpx client posts the same requests with "
      f"no framework (`httpx.AsyncClient` for tasks, one shared `httpx.Client` otherwise).\n")
    w("| calls from | bare httpx ÷ L | hone wall (s) | hone ÷ L | met (hone ≤ 1.05 × L) | DSPy `configure` once ÷ L | DSPy `configure` in each: failed | DSPy `context` in each ÷ L | hone ÷ DSPy (`context`) | rounds |")
    w("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    failures = {}
    for mode, label in modes:
        s = f"py-{mode}"
        bare, hone = by_variant.get((s, "httpx", "bare")), by_variant.get((s, "hone", "lm"))
        once, each, ctx = (by_variant.get((s, "dspy", v)) for v in ("configure", "configure-each", "context"))
        wall = lambda r: None if r is None else r.get("wall_s")  # noqa: E731
        per_l = lambda r: ratio(wall(r), LATENCY_S)  # noqa: E731
        hl = per_l(hone)
        failed = lambda r: "—" if r is None else f"{sum(r['failed'])} of {r['calls'] * r['rounds']}"  # noqa: E731
        w(f"| {label} | {fmt(per_l(bare), 3)} | {fmt(wall(hone), 3)} | {fmt(hl, 3)} | {yes(None if hl is None else hl <= 1.05)} | "
          f"{fmt(per_l(once), 3)} | {failed(each)} | {fmt(per_l(ctx), 3)} | {fmt(ratio(wall(hone), wall(ctx)), 3)} | "
          f"{hone.get('rounds') if hone else '—'} |")
        for side, r in [("hone", hone), ("httpx", bare), ("DSPy `configure` once", once),
                        ("DSPy `configure` in each", each), ("DSPy `context` in each", ctx)]:
            for message, count in (r or {}).get("errors", {}).items():
                failures.setdefault(message.replace("`", "'"), []).append(f"{side}, {mode}: {count}")
    optimize_rows(rows, w)
    rust = [r.get("wall_s") for r in rows.get(("py-rust", "hone"), [])]
    if rust:
        med = statistics.median(rust)
        w(f"\nThe floor on this machine at the time: the same {n} calls at once from Rust (`hone-bench evaluate "
          f"--concurrency {n}` over {n} examples, a new process, and so new connections, each time) took "
          f"{med:.3f} s = {med / LATENCY_S:.3f} × L (the median of {len(rust)}: "
          f"{', '.join(f'{x:.3f}' for x in rust)} s).")
    if failures:
        w("\nWhat the failed calls raised:\n")
        for message, where in failures.items():
            w(f"- `{message}` ({'; '.join(where)})")
    w("")
    return out


def real_section(rows):
    """The real-model section (bench/real/bench.py): lines of markdown, or none if it did not run."""
    opt = {s.removeprefix("real-optimize-"): s for (s, _) in rows if s.startswith("real-optimize-")}
    levels = sorted({int(s.split("-c")[1]) for (s, _) in rows if s.startswith("real-throughput-c")})
    if not opt and not levels:
        return []
    out = []
    w = out.append
    last = lambda section, side: (rows.get((section, side)) or [None])[-1]  # noqa: E731
    w("## The real local model: hone and DSPy on llama-server with Gemma 3 270M\n")
    w("The shipped orders task (`testdata/tasks/orders`: find the order id a customer's message refers to, "
      "in the house format `ORD-` and six digits; 40 train, 50 dev, 50 held-out test messages) against "
      "llama.cpp's `llama-server` (`scripts/local-lm`: Gemma 3 270M Q4_K_M, 2 threads, 4 slots, restarted "
      "before each row), temperature 0, cache off. Both sides read the program, the LM settings and the "
      "optimizer's parameters from the same file (`testdata/programs/orders.toml`: few-shot random "
      "search with 2 candidates, 2 + 4 demos; `orders-mipro.toml`: MIPROv2 `auto=\"light\"`, the local "
      "model proposing instructions too) and run 4 calls at once. `wall` is what `hone optimize` does: "
      "score the baseline on dev, search, score the best on dev (DSPy: `Evaluate`, `compile`, `Evaluate`). "
      "`LM calls` counts the search's calls and, after the slash, all of them; `parse failures` the "
      "answers that did not parse in that work. The test split is scored afterwards, untimed. DSPy's "
      "JSONAdapter sends a JSON schema (`response_format`) because the server is declared to it as a "
      "provider whose models follow response schemas; its ChatAdapter retries a reply it cannot parse "
      "with the JSONAdapter, as DSPy does; hone's proposals use the JSON adapter "
      "(`proposal_adapter = \"json\"`).\n")
    if opt:
        w("| program | side | wall (s) | LM calls (search / all) | parse failures | dev before → after | test before → after | side ÷ hone wall |")
        w("|---|---|---:|---:|---:|---|---|---:|")
        # A row's own `side` is `hone` or `dspy`; DSPy's rows differ by their `adapter`.
        labels = [("hone", "json", "hone (JSON adapter)"), ("dspy", "json", "DSPy JSONAdapter"),
                  ("dspy", "chat", "DSPy ChatAdapter")]
        for program, section in opt.items():
            hone = last(section, "hone")
            for side, adapter, label in labels:
                r = next((r for r in reversed(rows.get((section, side), [])) if r.get("adapter") == adapter), None)
                if r is None:
                    continue
                pct = lambda x: "—" if x is None else f"{100 * x:.0f} %"  # noqa: E731
                w(f"| `{program}.toml` ({r['optimizer']}) | {label} | {r['wall_s']:.1f} | {r['search_lm_calls']} / {r['lm_calls']} | "
                  f"{r['parse_failures']} | {pct(r['dev_before'])} → {pct(r['dev_after'])} | "
                  f"{pct(r['test_before'])} → {pct(r['test_after'])} | {fmt(ratio(r['wall_s'], hone and hone['wall_s']), 2)} |")
        w("")
    if levels:
        one = last(f"real-throughput-c{levels[0]}", "hone")
        single = one["wall_s"] / one["lm_calls"] if one and one["lm_calls"] else None
        w("### What concurrency buys on this machine\n")
        w(f"`hone eval testdata/programs/orders.toml --concurrency C` over the 50 dev messages (the baseline "
          f"program), against a server started with C slots: the server decodes the requests in flight in one "
          f"batch. `L` is one call's latency, measured at concurrency {levels[0]} "
          f"({fmt(single, 3)} s); `wall ÷ (calls × L ÷ C)` is 1.0 when C calls at once each take as long as "
          f"one alone, and grows as the two cores saturate.\n")
        w("| concurrency = slots | wall (s) | calls | calls per second | tokens per second (prompt + completion) | completion tokens per second | wall ÷ (calls × L ÷ C) |")
        w("|---:|---:|---:|---:|---:|---:|---:|")
        for c in levels:
            r = last(f"real-throughput-c{c}", "hone")
            if r is None:
                continue
            tokens = (r.get("prompt_tokens") or 0) + (r.get("completion_tokens") or 0)
            bound = None if single is None else r["lm_calls"] * single / min(c, r["slots"])
            w(f"| {c} | {r['wall_s']:.2f} | {r['lm_calls']} | {r['lm_calls'] / r['wall_s']:.2f} | {tokens / r['wall_s']:.0f} | "
              f"{(r.get('completion_tokens') or 0) / r['wall_s']:.1f} | {fmt(ratio(r['wall_s'], bound), 2)} |")
        w("")
    return out


def splice(path, section):
    """Replaces the Python section of the markdown file at `path` (up to the next `## ` heading),
    or puts it before the cold-start section if the file has none."""
    with open(path) as f:
        lines = f.read().split("\n")
    heading = section[0].strip()
    start = next((i for i, line in enumerate(lines) if line == heading), None)
    if start is None:
        start = next((i for i, line in enumerate(lines) if line.startswith("## Cold start")), len(lines))
        end = start
        section = section + [""]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    with open(path, "w") as f:
        f.write("\n".join(lines[:start] + section + lines[end:]))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--raw", required=True)
    p.add_argument("--elapsed", type=int, required=True)
    p.add_argument("--dspy-version", required=True)
    p.add_argument("--instruction-opt")
    p.add_argument("--distributed")
    p.add_argument("--command", required=True)
    p.add_argument("--only", choices=["python", "real"], help="render only this section")
    p.add_argument("--splice", help="with --only: put the section into this markdown file in place")
    a = p.parse_args()
    rows = load(a.raw)
    if a.only:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        section = (python_section if a.only == "python" else real_section)(rows)
        if not section:
            raise SystemExit(f"report.py: {a.raw} has no lines of the {a.only} section")
        section[1:1] = [f"Measured {now} by `{a.command.strip()}` in {a.elapsed // 60} min {a.elapsed % 60} s "
                        f"(this section only; load average at the end "
                        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}).\n"]
        if a.splice:
            splice(a.splice, section)
        print("\n".join(section))
        return
    get = lambda section, side, key: (rows.get((section, side)) or [{}])[-1].get(key)  # noqa: E731
    every = lambda section, side, key: [r.get(key) for r in rows.get((section, side), [])]  # noqa: E731
    out = []
    w = out.append
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    w("# Benchmarks: hone vs DSPy\n")
    w(f"Measured {now} by `{a.command.strip()}` in {a.elapsed // 60} min {a.elapsed % 60} s, both sides "
      f"against the same `hone-sim` server in the same run (DSPy {a.dspy_version}).\n")
    w(f"- machine: {cpu_model()}, {os.cpu_count()} cores; `{' '.join(platform.uname())}`")
    w(f"- load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    w("- every number below comes from `bench/results/raw.jsonl`; each line names the command "
      "that produced it. LM calls are counted by the server (`/stats`).\n")

    w("## Framework overhead per LM call\n")
    w("Sequential `Predict(\"question -> answer: int\")` calls at 0 ms simulated latency, minus the "
      "same HTTP exchange by a bare client of the same language (reqwest / httpx) — the median "
      "of several rounds. hone's loops run in a task on the tokio runtime, as in a server "
      "handler; DSPy's in a plain synchronous loop.\n")
    w("| metric | hone | DSPy | hone ÷ DSPy | target | met |")
    w("|---|---:|---:|---:|---|---|")
    ho, do = get("overhead", "hone", "overhead_us"), get("overhead", "dspy", "overhead_us")
    w(f"| overhead per call (µs) | {fmt(ho, 1)} | {fmt(do, 1)} | {fmt(ratio(ho, do), 3)} | < 50 µs | {yes(None if ho is None else ho < 50)} |")
    hr, dr = get("overhead", "hone", "raw_us"), get("overhead", "dspy", "raw_us")
    w(f"| bare client per call (µs) | {fmt(hr, 1)} | {fmt(dr, 1)} | {fmt(ratio(hr, dr), 3)} | | |")
    hf, df = get("overhead", "hone", "framework_us"), get("overhead", "dspy", "framework_us")
    w(f"| framework per call (µs) | {fmt(hf, 1)} | {fmt(df, 1)} | {fmt(ratio(hf, df), 3)} | | |")
    hm, dm = get("memory", "hone", "peak_rss_kb"), get("memory", "dspy", "peak_rss_kb")
    hm, dm = (None if hm is None else hm / 1024), (None if dm is None else dm / 1024)
    n = get("memory", "hone", "calls")
    w(f"| peak RSS of a process making {n} sequential `Predict` calls (MB) | {fmt(hm, 1)} | {fmt(dm, 1)} | {fmt(ratio(hm, dm), 3)} | ≤ 10 MB | {yes(None if hm is None else hm <= 10)} |")
    ho_rss, do_rss = get("overhead", "hone", "peak_rss_kb"), get("overhead", "dspy", "peak_rss_kb")
    if ho_rss is not None and do_rss is not None:
        w(f"\nThe overhead processes themselves, which also hold every request body the bare client sends, peak at hone {ho_rss / 1024:.1f} MB, DSPy {do_rss / 1024:.1f} MB.")
    w("")

    levels = sorted({int(s.split("-c")[1]) for (s, _) in rows if s.startswith("evaluate-c")})
    if levels:
        n = get(f"evaluate-c{levels[0]}", "hone", "examples")
        w(f"## Evaluate over {n} examples at 200 ms latency\n")
        w("`ideal` is `calls × latency ÷ concurrency`; `waves` is `⌈calls ÷ concurrency⌉ × latency`, "
          "the least time any executor needs with that many calls in flight (they differ when the "
          "concurrency does not divide the calls). The target (≤ 1.05) is checked against `waves`, "
          "the bound that can be reached.\n")
        w("| concurrency | hone wall (s) | DSPy wall (s) | ideal (s) | waves (s) | hone ÷ ideal | hone ÷ waves | DSPy ÷ waves | hone ÷ DSPy | met (hone ≤ 1.05 × waves) | hone score | DSPy score |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
        for c in levels:
            s = f"evaluate-c{c}"
            hw, dw = get(s, "hone", "wall_s"), get(s, "dspy", "wall_s")
            calls = get(s, "hone", "lm_calls") or n
            ideal = calls * LATENCY_S / c
            waves = math.ceil(calls / c) * LATENCY_S
            hwv = ratio(hw, waves)
            w(f"| {c} | {fmt(hw)} | {fmt(dw)} | {ideal:.2f} | {waves:.2f} | {fmt(ratio(hw, ideal), 3)} | {fmt(hwv, 3)} | {fmt(ratio(dw, waves), 3)} | {fmt(ratio(hw, dw), 3)} | {yes(None if hwv is None else hwv <= 1.05)} | {fmt(get(s, 'hone', 'score'), 3)} | {fmt(get(s, 'dspy', 'score'), 3)} |")
        c8 = "evaluate-c8"
        hm, dm = get(c8, "hone", "peak_rss_kb"), get(c8, "dspy", "peak_rss_kb")
        if hm and dm:
            w(f"\nPeak RSS of the evaluation process at concurrency 8: hone {hm / 1024:.1f} MB, DSPy {dm / 1024:.1f} MB "
              f"(hone ÷ DSPy {hm / dm:.3f}).")
        w("")

    opts = [s.removeprefix("optimize-") for (s, side) in rows if s.startswith("optimize-") and side == "hone"]
    if opts:
        w(f"## Optimizers at equal LM-call budgets (200 ms latency, {OPT_CONCURRENCY} calls in flight)\n")
        w("Same parameters on both sides (random search: 8 candidates, 4 + 4 demos; MIPROv2 and GEPA: "
          "`auto=\"light\"`), train 50 / val 50, dev score on the dev split. hone runs GEPA with 8 "
          "proposals in flight per iteration (`num_parallel_proposals`) and pipelines its iterations while "
          "candidates are scored on the valset in the background (`overlap_full_evals`); DSPy's GEPA loop does one "
          "proposal at a time. Both stop at the first iteration that starts with the metric-call budget spent, so "
          "calls run over the budget by up to one iteration's accepted candidates' valset scoring (8 proposals at "
          "once in hone). `ideal` is `hone's calls × latency ÷ concurrency`.\n")
        w("MIPROv2 and GEPA run with several seeds on each side (`--seed 0, 1, …`, `runs` per side; random "
          "search has no seed): walls, calls and dev scores are means over the runs, `hone ÷ ideal` is hone's total wall over its "
          "total ideal, and the score target compares the mean dev scores.\n")
        w("| optimizer | runs | hone wall (s) | DSPy wall (s) | DSPy ÷ hone | hone calls | DSPy calls | hone ÷ ideal | hone dev | DSPy dev | dev per seed: hone / DSPy | targets: ≥ 5× faster, ≤ 1.25 × ideal, score not lower | met |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
        for o in opts:
            s = f"optimize-{o}"
            hws, dws = every(s, "hone", "wall_s"), every(s, "dspy", "wall_s")
            hcs, dcs = every(s, "hone", "lm_calls"), every(s, "dspy", "lm_calls")
            hss, dss = every(s, "hone", "dev_score"), every(s, "dspy", "dev_score")
            hw, dw, hc, dc, hs, ds = map(mean, (hws, dws, hcs, dcs, hss, dss))
            ideal = None if hc is None else hc * LATENCY_S / OPT_CONCURRENCY
            speed = ratio(dw, hw)
            hi = ratio(hw, ideal)
            met = None
            if None not in (speed, hi, hs, ds):
                met = speed >= 5 and hi <= 1.25 and hs >= ds
            per_seed = ", ".join(f"{fmt(h, 3)} / {fmt(d, 3)}" for h, d in zip(hss, dss))
            w(f"| {o} | {len(hws)} | {fmt(hw)} | {fmt(dw)} | {fmt(speed)} | {fmt(hc, 0)} | {fmt(dc, 0)} | {fmt(hi, 3)} | "
              f"{fmt(hs, 3)} | {fmt(ds, 3)} | {per_seed} | {fmt(speed, 1)}× / {fmt(hi, 2)} / {fmt(hs, 3)} vs {fmt(ds, 3)} | {yes(met)} |")
        w("")

    for title, path in [("hone's instruction optimizers at 200 ms latency, 64 calls in flight "
                         "(`hone-bench instruction-opt --latency-ms 200 --concurrency 64`; target ≤ 1.25 × ideal)", a.instruction_opt),
                        ("Distributed optimization over Redis Streams (`hone-bench distributed`; target ≥ 3.5× at 4 workers)", a.distributed)]:
        if path and os.path.exists(path):
            w(f"## {title}\n")
            with open(path) as f:
                w(f.read().strip())
            w("")

    for line in python_section(rows):
        w(line)
    for line in real_section(rows):
        w(line)

    w("## Cold start and install size\n")
    w("| metric | hone | DSPy | hone ÷ DSPy | target | met |")
    w("|---|---:|---:|---:|---|---|")
    hc, dc = get("cold-start", "hone", "ms"), get("cold-start", "dspy", "ms")
    w(f"| `hone --help` vs `python -c \"import dspy\"` (ms, median) | {fmt(hc, 1)} | {fmt(dc, 1)} | {fmt(ratio(hc, dc), 4)} | ≤ 20 ms | {yes(None if hc is None else hc <= 20)} |")
    hd, dd = get("dependencies", "hone", "count"), get("dependencies", "dspy", "count")
    w(f"| third-party packages installed | {hd} | {dd} | {fmt(ratio(hd, dd), 3)} | | |")
    w("\nPackages: hone counts the unique crates in `cargo tree -p hone-cli -e normal` (the `hone` "
      "binary's normal dependencies, including hone's own crates); DSPy counts `pip list` in a "
      "venv holding `dspy[optuna]` (optuna is needed for MIPROv2), without pip and setuptools.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
