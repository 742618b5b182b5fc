#!/usr/bin/env python3
"""A command metric for `hone`: `[metric] kind = "command"`, `command = ["python3", "exact_match.py"]`.

hone writes one request per line on stdin and reads one answer per line on stdout
(docs/command-metric.md):

    request: {"id": 7, "example": {"review": "...", "sentiment": "negative"}, "prediction": {"sentiment": "negative"}}
    answer:  {"id": 7, "score": 1.0, "feedback": "correct"}

Echo the request's `id`, write exactly one line per request, flush after it, and write
anything else (logs, warnings) to stderr.
"""

import json
import sys

FIELD = sys.argv[1] if len(sys.argv) > 1 else "sentiment"

for line in sys.stdin:
    request = json.loads(line)
    expected = str(request["example"].get(FIELD, "")).strip().lower()
    got = str(request["prediction"].get(FIELD, "")).strip().lower()
    ok = expected == got
    answer = {
        "id": request["id"],
        "score": 1.0 if ok else 0.0,
        "feedback": "correct" if ok else f"expected {expected!r}, got {got!r}",
    }
    print(json.dumps(answer), flush=True)
