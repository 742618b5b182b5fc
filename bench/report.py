"""Renders bench/results/raw.jsonl (written by bench/run) as bench/RESULTS.md on stdout."""

import argparse
import datetime
import json
import math
import os
import platform
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
    a = p.parse_args()
    rows = load(a.raw)
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
