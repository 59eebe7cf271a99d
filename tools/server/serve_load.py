#!/usr/bin/env python3
"""Load generator for `minimax-vl serve` (stdlib only; loopback only; every wait bounded).

Starts the server itself (or uses --url), then measures:
  * aggregate decode throughput (completion tokens/s over wall time) with 1, 16 and 64
    concurrent streaming clients, and its ratio to the single stream;
  * time to first token (TTFT, request sent -> first content chunk) of a lone request on an
    idle server vs while 8 other streams are decoding.
Prints one markdown table. Timings are what this machine gives; nothing is asserted.

  tools/server/serve_load.py --cli build/app/minimax-vl            # default tiny model, CPU
  tools/server/serve_load.py --cli build/app/minimax-vl -- -m /models/MiniMax-VL-01 --device cuda
"""
import argparse, http.client, json, statistics, subprocess, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--cli", help="the minimax-vl binary (starts a server on a free port)")
ap.add_argument("--url", help="an already running server, e.g. http://127.0.0.1:8080")
ap.add_argument("--max-tokens", type=int, default=64, help="tokens per stream")
ap.add_argument("--concurrency", default="1,16,64")
ap.add_argument("--ttft-repeats", type=int, default=3)
ap.add_argument("--timeout", type=float, default=600, help="seconds per request")
ap.add_argument("server_args", nargs="*", help="extra `serve` flags after --")
a = ap.parse_args()

proc = None
if a.url:
    host, port = a.url.replace("http://", "").rstrip("/").split(":")
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("loopback only")
    port = int(port)
else:
    if not a.cli:
        sys.exit("pass --cli or --url")
    proc = subprocess.Popen([a.cli, "serve", "--port", "0", "--parallel", "64", "--queue", "64"] +
                            a.server_args, stdout=subprocess.PIPE, text=True)
    port = None
    t_end = time.time() + 600
    while time.time() < t_end:
        line = proc.stdout.readline()
        if not line:
            break
        if "http://127.0.0.1:" in line:
            port = int(line.split("http://127.0.0.1:")[1].split()[0])
            break
    if port is None:
        proc.kill()
        sys.exit("the server did not start")


def stream(prompt, max_tokens, out):
    """One streaming request; fills out = {ttft, end, tokens} (times from its own start)."""
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=a.timeout)
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
            "stream": True, "stream_options": {"include_usage": True}}
    c.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    out.update(start=t0, ttft=None, tokens=0, status=r.status)
    for raw in r:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        ev = json.loads(line[6:])
        if ev.get("usage"):
            out["tokens"] = ev["usage"]["completion_tokens"]
        if ev.get("choices") and ev["choices"][0]["delta"].get("content") and out["ttft"] is None:
            out["ttft"] = time.perf_counter() - t0
    out["end"] = time.perf_counter()
    c.close()


def run_streams(n, max_tokens):
    outs = [dict() for _ in range(n)]
    ts = [threading.Thread(target=stream, args=(f"Stream {i}: tell a story.", max_tokens, outs[i]))
          for i in range(n)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join(a.timeout)
    wall = time.perf_counter() - t0
    return outs, wall


rows = []
try:
    run_streams(1, 4)  # warm-up
    base = None
    for n in [int(x) for x in a.concurrency.split(",")]:
        outs, wall = run_streams(n, a.max_tokens)
        toks = sum(o.get("tokens", 0) for o in outs)
        tps = toks / wall
        base = base or tps
        ok = sum(1 for o in outs if o.get("status") == 200 and o.get("tokens"))
        rows.append((f"{n} concurrent streams", f"{toks} tokens in {wall:.2f} s",
                     f"{tps:.1f} tok/s", f"{tps / base:.2f}x", f"{ok}/{n} answered"))

    def lone_ttft():
        o = {}
        stream("A lone question.", 4, o)
        return o["ttft"]

    idle = statistics.median(lone_ttft() for _ in range(a.ttft_repeats))
    loaded = []
    for _ in range(a.ttft_repeats):
        outs = [dict() for _ in range(8)]
        ts = [threading.Thread(target=stream, args=(f"Background {i}", a.max_tokens * 4, outs[i]))
              for i in range(8)]
        for t in ts:
            t.start()
        t_wait = time.time() + a.timeout
        while time.time() < t_wait and not any(o.get("ttft") for o in outs):
            time.sleep(0.01)  # the background streams are decoding
        loaded.append(lone_ttft())
        for t in ts:
            t.join(a.timeout)
    loaded_m = statistics.median(loaded)
    rows.append(("TTFT lone request, idle server", f"median of {a.ttft_repeats}", f"{idle * 1000:.1f} ms", "1.00x", ""))
    rows.append(("TTFT lone request, 8 streams decoding", f"median of {a.ttft_repeats}",
                 f"{loaded_m * 1000:.1f} ms", f"{loaded_m / idle:.2f}x", ""))
finally:
    if proc:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()

print(f"| case | work | result | vs single/idle | note |")
print(f"|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
