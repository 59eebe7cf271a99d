#!/usr/bin/env python3
"""Load generator for `minimax-vl serve` (stdlib only; loopback only; every wait bounded).

Starts the server itself (or uses --url), then measures, in one call:
  * aggregate throughput (completion tokens/s over the wall time of the whole burst, prefill
    and HTTP included) with 1, 16 and 64 concurrent streaming clients, and its ratio to the
    single stream;
  * time to first token (TTFT, request sent -> first content chunk) of a lone request on an
    idle server vs while 8 other streams are decoding.
Every stream asks for --max-tokens tokens (the server's `ignore_eos` is not used: a stream
that ends early at EOS simply counts fewer tokens). The client reads the SSE bytes in bulk and
parses only the usage chunk, so at 64 streams it does not become the bottleneck itself.
Prints one markdown table plus the server's /metrics batch figures. Timings are what this
machine gives; nothing is asserted.

  tools/server/loadgen.py --cli build/app/minimax-vl            # default tiny model, CPU
  tools/server/loadgen.py --cli build/app/minimax-vl -- --random-weights ... --device cuda
"""
import argparse, http.client, json, re, statistics, subprocess, sys, threading, time

FIRST_CONTENT = re.compile(rb'"content":"[^"]')

ap = argparse.ArgumentParser()
ap.add_argument("--cli", help="the minimax-vl binary (starts a server on a free port)")
ap.add_argument("--url", help="an already running server, e.g. http://127.0.0.1:8080")
ap.add_argument("--max-tokens", type=int, default=256, help="tokens per stream")
ap.add_argument("--concurrency", default="1,16,64")
ap.add_argument("--ttft-repeats", type=int, default=3)
ap.add_argument("--timeout", type=float, default=600, help="seconds per request")
ap.add_argument("--api-key", default="", help="the server's key, if it has one")
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
    """One streaming request; fills out = {start, ttft, end, tokens, status}."""
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=a.timeout)
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
            "stream": True, "stream_options": {"include_usage": True}}
    hdr = {"Content-Type": "application/json"}
    if a.api_key:
        hdr["Authorization"] = "Bearer " + a.api_key
    c.request("POST", "/v1/chat/completions", json.dumps(body), hdr)
    r = c.getresponse()
    out.update(start=t0, ttft=None, tokens=0, status=r.status)
    buf = b""
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        if out["ttft"] is None and FIRST_CONTENT.search(chunk):  # not the role chunk's ""
            out["ttft"] = time.perf_counter() - t0
        buf = (buf + chunk)[-4096:]  # the usage chunk and [DONE] come last
    for line in buf.split(b"\n"):
        if line.startswith(b"data: {") and b'"usage"' in line:
            try:
                u = json.loads(line[6:]).get("usage")
                if u:
                    out["tokens"] = u["completion_tokens"]
            except ValueError:
                pass
    out["end"] = time.perf_counter()
    c.close()


def sched_metrics():
    """(decode steps, sequences advanced) from /metrics; zeros if the server has no such lines."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/metrics", headers={"Authorization": "Bearer " + a.api_key} if a.api_key else {})
    text = c.getresponse().read().decode()
    c.close()
    vals = {}
    for line in text.splitlines():
        if line.startswith(("mvl_decode_steps_total ", "mvl_decode_step_sequences_total ")):
            k, v = line.split()
            vals[k] = float(v)
    return vals.get("mvl_decode_steps_total", 0), vals.get("mvl_decode_step_sequences_total", 0)


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
        s0 = sched_metrics()
        outs, wall = run_streams(n, a.max_tokens)
        s1 = sched_metrics()
        steps, seqs = s1[0] - s0[0], s1[1] - s0[1]
        toks = sum(o.get("tokens", 0) for o in outs)
        tps = toks / wall
        base = base or tps
        ok = sum(1 for o in outs if o.get("status") == 200 and o.get("tokens"))
        batch = f", mean decode batch {seqs / steps:.1f}" if steps else ""
        rows.append((f"{n} concurrent streams", f"{toks} tokens in {wall:.2f} s",
                     f"{tps:.1f} tok/s", f"{tps / base:.2f}x", f"{ok}/{n} answered{batch}"))

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
        while time.time() < t_wait and not all(o.get("ttft") for o in outs):
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
