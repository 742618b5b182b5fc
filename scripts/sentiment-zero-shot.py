#!/usr/bin/env python3
"""Zero-shot baseline of the sentiment task on a local OpenAI-compatible server.

Renders each dev example exactly as DSPy's JSONAdapter does for the signature
`review -> sentiment: Literal['positive', 'negative']`, sends it with DSPy's structured-output
`response_format` at temperature 0 over plain HTTP, and prints the accuracy.

    url=$(scripts/local-lm start | head -n 1)
    "$DSPY_PYTHON" scripts/sentiment-zero-shot.py "$url"

Run it with the Python that has dspy (scripts/lib/setup.sh: ensure_dspy_venv).
"""

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy  # noqa: E402
import litellm  # noqa: E402
from dspy.adapters.json_adapter import _get_structured_outputs_response_format  # noqa: E402

DEV = Path(__file__).resolve().parent.parent / "testdata/tasks/sentiment/dev.jsonl"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    base_url = sys.argv[1].rstrip("/")
    signature = dspy.Signature("review -> sentiment: Literal['positive', 'negative']")
    adapter = dspy.JSONAdapter()
    response_format = litellm.utils.type_to_response_format_param(
        _get_structured_outputs_response_format(signature)
    )
    examples = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    correct = 0
    latencies = []
    for example in examples:
        messages = adapter.format(signature, demos=[], inputs={"review": example["review"]})
        body = {
            "model": "local",
            "messages": messages,
            "temperature": 0,
            "response_format": response_format,
        }
        request = urllib.request.Request(
            base_url + "/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            reply = json.load(response)
        latencies.append(time.perf_counter() - started)
        text = reply["choices"][0]["message"]["content"]
        parsed = adapter.parse(signature, text)
        ok = parsed["sentiment"] == example["sentiment"]
        correct += ok
        print(f"{'ok ' if ok else 'BAD'} {example['sentiment']:8} {text!r}")
    latencies.sort()
    print(
        f"zero-shot accuracy: {correct}/{len(examples)}; "
        f"latency per call: median {latencies[len(latencies) // 2]:.2f}s, max {latencies[-1]:.2f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
