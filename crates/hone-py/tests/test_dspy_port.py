"""Programs written for DSPy run on hone with only ``import dspy`` changed to
``import hone as dspy``, and send DSPy 3.4.1's exact prompts.

Each program in ``dspy_programs/`` (from DSPy's documentation; each file says where) runs
twice against one local server that records every chat request: once under DSPy (the
reference venv, ``$DSPY_PYTHON``) and once under hone. The messages must be byte-identical,
and the parsed outputs equal."""

from __future__ import annotations

import ast
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = pathlib.Path(__file__).parent
PROGRAMS = sorted((HERE / "dspy_programs").glob("*.py"))

RUNNER = r"""
import json, sys, types
path, url, framework = sys.argv[1:4]
source = open(path).read()
if framework == "hone":
    assert "import dspy\n" in source
    source = source.replace("import dspy\n", "import hone as dspy\n", 1)
module = types.ModuleType("program")
exec(compile(source, path, "exec"), module.__dict__)
dspy = module.dspy
lm = dspy.LM("openai/port-test", api_base=url, api_key="port-test-key", cache=False)
print(json.dumps(module.run(lm)))
"""


def _value(name: str, type_: str, system: str, tool_calls: int) -> str:
    """A well-formed answer for one output field, from its type as the prompt states it."""
    if name == "next_tool_name":
        tools = ast.literal_eval(type_[len("Literal"):].strip())
        tools = tools if isinstance(tools, (tuple, list)) else (tools,)
        return tools[0] if tool_calls == 0 else "finish"
    if name == "next_tool_args":
        if tool_calls > 0:
            return "{}"
        args = re.search(r"\(1\) \w+.*?It takes arguments (\{.*?\})\.\n", system, re.S)
        names = list(ast.literal_eval(args.group(1))) if args else []
        return json.dumps({n: "12 * 3" if "expression" in n else "David Gregory" for n in names})
    one_of = re.search(r"\{" + name + r"\}\s+# note: the value you produce must (?:exactly match \(no extra characters\) )?be one of: ([^\n]*)|\{" + name + r"\}\s+# note: the value you produce must exactly match \(no extra characters\) one of: ([^\n]*)", system)
    if one_of:   # a Literal or an enum class: its first value
        return (one_of.group(1) or one_of.group(2)).split("; ")[0]
    if type_.startswith("Literal"):
        options = ast.literal_eval(type_[len("Literal"):].strip())
        return options[0] if isinstance(options, (tuple, list)) else options
    if type_ == "float":
        return "0.75"
    if type_ == "int":
        return "3"
    if type_ == "bool":
        return "True"
    if type_.startswith("list[dict"):
        return json.dumps([{"name": "Tim Cook", "type": "person"}])
    if type_.startswith("list"):
        return json.dumps(["Overview", "Features"])
    if type_.startswith("dict"):
        return "{}"
    return f"the {name}"


class Recorder(ThreadingHTTPServer):
    """An OpenAI-compatible server that records each request's messages and answers every
    output field the ChatAdapter asks for."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.tool_calls = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def answer(self, body: dict) -> str:
        system = body["messages"][0]["content"]
        outputs = system.split("Your output fields are:")[1].split("All interactions")[0]
        fields = re.findall(r"^\d+\. `(\w+)` \((.*?)\):", outputs, flags=re.M)
        parts = [f"[[ ## {n} ## ]]\n{_value(n, t, system, self.tool_calls)}\n" for n, t in fields]
        if any(n == "next_tool_name" for n, _ in fields):
            self.tool_calls += 1
        return "\n".join(parts) + "\n[[ ## completed ## ]]"


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        content = self.server.answer(body)
        reply = json.dumps({
            "id": "chatcmpl-port", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def _run(python: str, program: pathlib.Path, framework: str) -> tuple[dict, list[list[dict]]]:
    server = Recorder()
    try:
        env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", DSPY_CACHEDIR=str(HERE / ".dspy-cache"))
        proc = subprocess.run([python, "-c", RUNNER, str(program), server.url, framework],
                              capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, f"{framework} failed on {program.name}:\n{proc.stderr[-3000:]}"
        return json.loads(proc.stdout.strip().splitlines()[-1]), [r["messages"] for r in server.requests]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_sends_dspys_exact_prompts(program):
    dspy_python = os.environ.get("DSPY_PYTHON")
    if not dspy_python:
        pytest.skip("DSPY_PYTHON (a Python with dspy 3.4.1, set by scripts/test) is not set")
    dspy_out, dspy_messages = _run(dspy_python, program, "dspy")
    hone_out, hone_messages = _run(sys.executable, program, "hone")
    assert dspy_messages, "DSPy sent no request"
    assert len(hone_messages) == len(dspy_messages)
    for i, (ours, theirs) in enumerate(zip(hone_messages, dspy_messages)):
        for j, (a, b) in enumerate(zip(ours, theirs)):
            assert a["role"] == b["role"], f"request {i}, message {j}"
            assert a["content"] == b["content"], f"request {i}, message {j} ({a['role']}) differs"
        assert len(ours) == len(theirs), f"request {i}"
    assert hone_out == dspy_out
