#!/usr/bin/env python3
"""`minimax-vl serve` driven by the official `openai` Python client (run by ctest in the venv
made by make_venv.sh). Starts the server on 127.0.0.1 (free port), then: models.list, a
plain and a streamed completion (same greedy text), one and two images as data: URLs, a bad
key, a malformed request, 16 concurrent clients, SIGTERM -> exit 0. Prints a transcript.
Every wait is bounded; only loopback is contacted."""
import argparse, base64, concurrent.futures, os, signal, subprocess, sys, time

import openai

ap = argparse.ArgumentParser()
ap.add_argument("--cli", required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--samples", required=True)
args = ap.parse_args()

KEY = "test-key-123"
srv = subprocess.Popen([args.cli, "serve", "-m", args.model, "--port", "0", "--api-key", KEY,
                        "--parallel", "4", "--queue", "32"],
                       stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
port = None
deadline = time.time() + 60
while time.time() < deadline:
    line = srv.stdout.readline()
    if not line:
        break
    print("server:", line.strip())
    if "http://127.0.0.1:" in line:
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        break
if port is None:
    srv.kill()
    sys.exit("the server did not start")

base = f"http://127.0.0.1:{port}/v1"
client = openai.OpenAI(base_url=base, api_key=KEY, timeout=120, max_retries=0)
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


try:
    models = client.models.list()
    ids = [m.id for m in models.data]
    print("models.list ->", ids)
    check(ids == ["tiny-random"], "models.list names the served model")

    msgs = [{"role": "user", "content": "Name three colours."}]
    r = client.chat.completions.create(model=ids[0], messages=msgs, max_tokens=8)
    print("create ->", repr(r.choices[0].message.content), r.choices[0].finish_reason, r.usage)
    check(r.object == "chat.completion", "non-streaming object")
    check(r.usage.completion_tokens == 8 and r.choices[0].finish_reason == "length",
          "max_tokens honoured, finish_reason length")

    chunks = list(client.chat.completions.create(model=ids[0], messages=msgs, max_tokens=8, stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = [c.usage for c in chunks if c.usage]
    print(f"stream -> {len(chunks)} chunks, text {text!r}, usage {usage[-1] if usage else None}")
    check(text == r.choices[0].message.content, "streamed text == non-streamed text (greedy)")
    check(len(usage) == 1 and usage[0].completion_tokens == 8, "include_usage chunk")

    def image(name):
        with open(os.path.join(args.samples, name), "rb") as f:
            return {"type": "image_url",
                    "image_url": {"url": "data:image/png;base64," + base64.b64encode(f.read()).decode()}}

    one = client.chat.completions.create(model=ids[0], max_tokens=4, messages=[
        {"role": "user", "content": [image("chart.png"), {"type": "text", "text": "What does it show?"}]}])
    two = client.chat.completions.create(model=ids[0], max_tokens=4, messages=[
        {"role": "user", "content": [image("chart.png"), image("table.png"),
                                     {"type": "text", "text": "Compare them."}]}])
    print("one image -> prompt_tokens", one.usage.prompt_tokens, "| two images ->", two.usage.prompt_tokens)
    check(one.usage.prompt_tokens > 50 and two.usage.prompt_tokens > one.usage.prompt_tokens + 10,
          "images are part of the prompt")

    try:
        openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).chat.completions.create(
            model=ids[0], messages=msgs, max_tokens=2)
        check(False, "bad key refused")
    except openai.AuthenticationError as e:
        print("bad key ->", e.status_code, e.body)
        check(e.status_code == 401, "bad key refused with 401")

    try:
        client.chat.completions.create(model=ids[0], messages=[{"role": "user"}], max_tokens=2)
        check(False, "malformed request refused")
    except openai.BadRequestError as e:
        print("malformed ->", e.status_code, e.body)
        check(e.status_code == 400 and e.body.get("param") == "messages[0].content",
              "malformed request refused with 400 naming the field")

    def one_client(i):
        if i % 2:
            s = client.chat.completions.create(model=ids[0], max_tokens=6, stream=True,
                                               messages=[{"role": "user", "content": f"Client {i}"}])
            return sum(1 for c in s if c.choices and c.choices[0].delta.content is not None) > 0
        c = client.chat.completions.create(model=ids[0], max_tokens=6,
                                           messages=[{"role": "user", "content": f"Client {i}"}])
        return c.usage.completion_tokens == 6

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answered = list(pool.map(one_client, range(16)))
    print(f"16 concurrent clients -> {sum(answered)} answered in {time.time() - t0:.2f} s")
    check(all(answered), "16 concurrent clients all answered")
finally:
    srv.send_signal(signal.SIGTERM)
    try:
        code = srv.wait(timeout=30)
    except subprocess.TimeoutExpired:
        srv.kill()
        code = None
    print("SIGTERM -> exit", code)
    check(code == 0, "SIGTERM exits 0")

sys.exit(1 if failures else 0)
