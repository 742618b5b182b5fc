"""The sentiment task of testdata/tasks/sentiment as tests use it from Python and from program
files: the data, the one-predictor program, and the same program as a TOML file."""

from __future__ import annotations

import json

import hone
from conftest import ROOT

TASK = ROOT / "testdata" / "tasks" / "sentiment"
MODEL = "gemma-3-270m-q4_k_m"
SIGNATURE_TEXT = "review -> sentiment: Literal['positive', 'negative']"
INSTRUCTIONS = "Classify the sentiment of the review as positive or negative."


def load(split: str) -> list[hone.Example]:
    rows = [json.loads(line) for line in (TASK / f"{split}.jsonl").read_text().splitlines() if line.strip()]
    return [hone.Example(**row).with_inputs("review") for row in rows]


TRAIN, DEV = load("train"), load("dev")
SIGNATURE = hone.Signature(SIGNATURE_TEXT).with_instructions(INSTRUCTIONS)


class Sentiment(hone.Module):
    def __init__(self):
        super().__init__()
        self.classify = hone.Predict(SIGNATURE)

    def forward(self, review):
        return self.classify(review=review)


def program_toml(optimizer: str, *, lm: str = "", extra: str = "") -> str:
    """The program as a TOML file: ``lm`` adds lines to ``[lm.task]``, ``optimizer`` is the
    ``[optimizer]`` table's body, ``extra`` goes first (more LMs, say)."""
    return f"""{extra}
[lm.task]
model = "{MODEL}"
{lm}

[program]
adapter = "json"

[[program.stages]]
name = "classify"
module = "predict"
signature = "{SIGNATURE_TEXT}"
instructions = "{INSTRUCTIONS}"

[metric]
kind = "exact_match"
field = "sentiment"

[dataset]
train = "{TASK / 'train.jsonl'}"
dev = "{TASK / 'dev.jsonl'}"

[optimizer]
{optimizer}
"""
