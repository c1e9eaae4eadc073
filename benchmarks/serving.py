"""Serving speed, measured side by side in one run: sklearn vs ONNX, in-process vs HTTP, single vs batch.

    python benchmarks/serving.py [--seconds 10] [--rows 100000]

What it does, on the course's default model (``fraud-detector``: one-hot
encoding and a 100-tree, depth-10 forest, trained here in a temporary
registry):

1. one row in-process, p50/p99 over many calls: the raw scikit-learn
   ``predict``, raw onnxruntime, and :class:`mlcourse.deploy.service.ModelService`
   on each backend (validation included);
2. batch scoring in rows/s: scikit-learn, onnxruntime, ``ModelService``;
3. HTTP through uvicorn on 127.0.0.1 (``mlcourse serve`` in a subprocess,
   prediction log on): latency at concurrency 1, then loads bounded in
   time (``--seconds``, default 10) at 16 and 64 connections, for each
   prediction-log durability setting (``--log-durability batch`` and
   ``request``), with requests/s, p50/p99 and the error count, and
   ``/predict/batch`` rows/s;
4. the crash window of each durability setting: a server under load
   (16 concurrent clients, each request with its own id) is killed with
   ``kill -9``; the acknowledged requests (answered 200) missing from the
   log are the rows lost, and lost / rate is the window.

The load generator is Debian's ``wrk`` when installed (``apt-get install -y
wrk``); otherwise a Python httpx client is used, which itself caps out near
700 requests/s on this machine, so its figures understate the server.
Load goes only to 127.0.0.1 and stops by itself.

Targets (issue 6): ONNX one row >= 100x faster than scikit-learn's forest;
HTTP p50 at concurrency 1 within 1 ms of the raw predict; >= 1 000 req/s
with 0 errors on 2 cores; batch scoring >= 100 000 rows/s.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

WRK_SCRIPT = textwrap.dedent(
    """
    -- POST one record on every request; count non-200 answers; report as JSON.
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = os.getenv("WRK_BODY")
    bad = 0
    local threads = {}
    function setup(thread) table.insert(threads, thread) end
    function response(status, headers, body)
      if status ~= 200 then bad = bad + 1 end
    end
    function done(summary, latency, requests)
      local non200 = 0
      for _, t in ipairs(threads) do non200 = non200 + t:get("bad") end
      local e = summary.errors
      io.write(string.format(
        '{"requests": %d, "duration_us": %d, "non200": %d, "socket_errors": %d, ' ..
        '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
        summary.requests, summary.duration, non200, e.connect + e.read + e.write + e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
    end
    """
)


def timed(fn, n: int, warmup: int = 20) -> np.ndarray:
    for _ in range(warmup):
        fn()
    out = np.empty(n)
    clock = time.perf_counter
    for i in range(n):
        t = clock()
        fn()
        out[i] = clock() - t
    return out * 1e3  # ms


def pct(ms: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(registry: Path, log_path: Path, home: Path, durability: str = "batch") -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    env = {**os.environ, "MLCOURSE_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlcourse", "serve", "--registry", str(registry), "--port", str(port),
         "--log", str(log_path), "--log-durability", durability],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 120 s")


def wrk_load(url: str, body: str, seconds: float, concurrency: int, threads: int = 1) -> dict:
    """``wrk`` for ``seconds`` at ``concurrency`` connections: bounded in time, then it stops."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT)
        script = fh.name
    threads = max(1, min(threads, concurrency))
    env = {**os.environ, "WRK_BODY": body}
    try:
        proc = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{int(seconds)}s", "--timeout", "5s", "-s", script,
             f"{url}/predict"],
            capture_output=True, text=True, env=env, timeout=seconds + 60,
        )
    finally:
        os.unlink(script)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not line:
        raise RuntimeError(f"wrk gave no result:\n{proc.stdout}\n{proc.stderr}")
    r = json.loads(line[-1])
    seconds = r["duration_us"] / 1e6
    return {
        "requests": r["requests"], "seconds": seconds, "rps": r["requests"] / seconds,
        "p50_ms": r["p50_us"] / 1e3, "p99_ms": r["p99_us"] / 1e3, "errors": r["non200"] + r["socket_errors"],
        "tool": f"wrk -t{threads} -c{concurrency}",
    }


def python_load(url: str, body: str, requests: int, concurrency: int) -> dict:
    import asyncio

    import httpx

    async def run() -> dict:
        latencies: list[float] = []
        errors = 0
        per_worker = requests // concurrency
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
            async def worker() -> None:
                nonlocal errors
                for _ in range(per_worker):
                    t = time.perf_counter()
                    try:
                        r = await client.post("/predict", content=body, headers={"content-type": "application/json"})
                        errors += r.status_code != 200
                    except httpx.HTTPError:
                        errors += 1
                    latencies.append((time.perf_counter() - t) * 1e3)

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            seconds = time.perf_counter() - start
        ms = np.array(latencies)
        return {"requests": len(ms), "seconds": seconds, "rps": len(ms) / seconds, "p50_ms": pct(ms)[0],
                "p99_ms": pct(ms)[1], "errors": errors, "tool": f"python httpx, {concurrency} tasks"}

    return asyncio.run(run())


def kill9_loss(registry: Path, work: Path, durability: str, body: str, seconds: float = 3.0,
               concurrency: int = 16) -> dict:
    """Load a server, ``kill -9`` it mid-load, and count the acknowledged requests missing from its log."""
    import asyncio

    import httpx

    log_path = work / f"kill9-{durability}.db"
    proc, url = start_server(registry, log_path, work / "home", durability)
    acked: list[str] = []
    started = time.perf_counter()

    async def load() -> None:
        stop = asyncio.Event()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
            async def worker(w: int) -> None:
                i = 0
                while not stop.is_set():
                    rid = f"k{w}-{i}"
                    i += 1
                    try:
                        r = await client.post("/predict", content=body,
                                              headers={"content-type": "application/json", "x-request-id": rid})
                    except httpx.HTTPError:
                        return  # the server is gone
                    if r.status_code == 200:
                        acked.append(rid)

            async def killer() -> None:
                await asyncio.sleep(seconds)
                proc.send_signal(signal.SIGKILL)  # mid-load, no warning
                await asyncio.sleep(0.5)
                stop.set()

            await asyncio.gather(killer(), *(worker(w) for w in range(concurrency)))

    asyncio.run(load())
    proc.wait(timeout=30)
    elapsed = seconds
    logged = {r for (r,) in sqlite3.connect(log_path).execute("SELECT request_id FROM predictions")}
    lost = len(set(acked) - logged)
    rate = len(acked) / elapsed
    del started
    return {"durability": durability, "acked": len(acked), "logged": len(logged), "lost": lost, "rps": rate,
            "window_ms": lost / rate * 1e3 if rate else math.nan}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="length of the wrk load test (the Python fallback sends 10 000 requests)")
    parser.add_argument("--requests", type=int, default=10_000, help="requests sent by the Python fallback client")
    parser.add_argument("--rows", type=int, default=100_000, help="rows for batch scoring")
    parser.add_argument("--single", type=int, default=2_000, help="calls per single-row measurement")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="mlcourse-bench-"))
    os.environ["MLCOURSE_HOME"] = str(work / "home")
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    from mlcourse.deploy.default_model import train_default_model
    from mlcourse.deploy.registry import load_model, load_onnx
    from mlcourse.deploy.service import ModelService
    from mlcourse.train.fraud_model import example_frame, example_records

    registry = work / "registry"
    t0 = time.perf_counter()
    mv = train_default_model(registry=registry)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start, "
          f"Python {sys.version.split()[0]}; "
          f"trained and registered {mv.label} (100 trees, depth 10, with ONNX) in {time.perf_counter() - t0:.1f} s\n")

    pipe = load_model("fraud-detector", registry=registry).model
    fast_raw = load_onnx("fraud-detector", registry=registry)
    onnx_service = ModelService.from_registry("fraud-detector", registry=registry)
    sk_service = ModelService.from_registry("fraud-detector", registry=registry, onnx=False)
    record = example_records(1, seed=3)[0]
    row = example_frame(1_000, seed=3).head(1)
    feed = fast_raw.feed(row)
    session = fast_raw.session

    n = args.single
    results: dict[str, tuple[float, float]] = {}
    results["sklearn predict (raw, 1-row DataFrame)"] = pct(timed(lambda: pipe.predict(row), max(200, n // 10)))
    results["onnxruntime session.run (raw)"] = pct(timed(lambda: session.run(None, feed), n * 5))
    results["ModelService, sklearn backend"] = pct(timed(lambda: sk_service.predict(record), max(200, n // 10)))
    results["ModelService, ONNX backend"] = pct(timed(lambda: onnx_service.predict(record), n * 2))
    print("One row, in-process                      p50 ms    p99 ms")
    for name, (p50, p99) in results.items():
        print(f"  {name:<38} {p50:8.3f}  {p99:8.3f}")
    sk_p50 = results["sklearn predict (raw, 1-row DataFrame)"][0]
    onnx_p50 = results["onnxruntime session.run (raw)"][0]
    speedup = sk_p50 / onnx_p50

    frame = example_frame(args.rows, seed=4)
    print(f"\nBatch scoring, {len(frame):,} rows, best of 3     rows/s")
    fast2 = load_onnx("fraud-detector", registry=registry, threads=2)

    def rows_per_second(fn, repeat: int = 3) -> float:
        # Best of a few passes: throughput is what the code can do, and a
        # pass slowed by another process on the machine says nothing about it.
        best = math.inf
        for _ in range(repeat):
            t = time.perf_counter()
            fn(frame)
            best = min(best, time.perf_counter() - t)
        return len(frame) / best

    batch = {
        "sklearn predict_proba": rows_per_second(pipe.predict_proba),
        "onnxruntime, 1 thread": rows_per_second(fast_raw.predict_proba),
        "onnxruntime, 2 threads": rows_per_second(fast2.predict_proba),
        "ModelService (ONNX, validated)": rows_per_second(onnx_service.predict_proba_batch),
    }
    for name, rate in batch.items():
        print(f"  {name:<38} {rate:12,.0f}")
    best_batch = max(batch.values())

    body = json.dumps(record)
    have_wrk = shutil.which("wrk") is not None
    loads: dict[tuple[str, int], dict] = {}
    c1 = None
    for durability in ("batch", "request"):
        log_path = work / f"predictions-{durability}.db"
        proc, url = start_server(registry, log_path, work / "home", durability)
        try:
            import httpx

            if durability == "batch":
                with httpx.Client(base_url=url, timeout=10) as http:
                    for _ in range(200):
                        http.post("/predict", content=body, headers={"content-type": "application/json"})
                    lat = []
                    for _ in range(n):
                        t = time.perf_counter()
                        r = http.post("/predict", content=body, headers={"content-type": "application/json"})
                        lat.append((time.perf_counter() - t) * 1e3)
                        assert r.status_code == 200, r.text
                    py_c1 = pct(np.array(lat))
                    batch_body = json.dumps({"records": example_records(1_000, seed=6)})
                    for _ in range(3):
                        http.post("/predict/batch", content=batch_body, headers={"content-type": "application/json"})
                    t = time.perf_counter()
                    for _ in range(20):
                        assert http.post("/predict/batch", content=batch_body,
                                         headers={"content-type": "application/json"}).status_code == 200
                    http_batch = 20 * 1_000 / (time.perf_counter() - t)
                if have_wrk:
                    c1 = wrk_load(url, body, 5, 1)
            for connections in (16, 64):
                if have_wrk:
                    loads[durability, connections] = wrk_load(url, body, args.seconds, connections, threads=2)
                else:
                    loads[durability, connections] = python_load(url, body, args.requests, connections)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        if durability == "batch":
            logged = sqlite3.connect(log_path).execute(
                "SELECT COUNT(*), SUM(status = 'ok') FROM predictions").fetchone()
    crashes = [kill9_loss(registry, work, durability, body) for durability in ("batch", "request")]

    print("\nHTTP through uvicorn on 127.0.0.1 (mlcourse serve, ONNX, prediction log on)")
    print(f"  concurrency 1, python httpx client     p50 {py_c1[0]:.3f} ms  p99 {py_c1[1]:.3f} ms")
    if c1:
        print(f"  concurrency 1, {c1['tool']:<22} p50 {c1['p50_ms']:.3f} ms  p99 {c1['p99_ms']:.3f} ms"
              f"  ({c1['rps']:,.0f} req/s, {c1['errors']} errors)")
    print(f"  /predict/batch, 1 000 records per request: {http_batch:,.0f} rows/s")
    print(f"  prediction log after a clean shutdown (batch): {logged[0]:,} rows ({logged[1]:,} ok)")
    print("\n  load on /predict                       req/s     p50 ms    p99 ms   errors   (tool)")
    for (durability, connections), load in loads.items():
        print(f"  --log-durability {durability:<7} {connections:>3} conns  {load['rps']:8,.0f}  {load['p50_ms']:8.2f}"
              f"  {load['p99_ms']:8.2f}  {load['errors']:7,}   ({load['tool']}, {load['requests']:,} requests)")
    for connections in (16, 64):
        ratio = loads["request", connections]["rps"] / loads["batch", connections]["rps"]
        print(f"  request vs batch durability at {connections} connections: {ratio:.2f}x the throughput")
    if not have_wrk:
        print("  (wrk not found: the Python client above caps near 700 req/s on its own."
              " For the real figure: apt-get install -y wrk)")
    print("\nkill -9 under load (16 concurrent python clients, 3 s, then SIGKILL)")
    print("  durability  acknowledged  logged  lost  at req/s  crash window")
    for c in crashes:
        print(f"  {c['durability']:<10}  {c['acked']:12,}  {c['logged']:6,}  {c['lost']:4,}  {c['rps']:8,.0f}"
              f"  {c['window_ms']:.0f} ms of acknowledged traffic")
    load = loads["batch", 16]

    http_p50 = c1["p50_ms"] if c1 else py_c1[0]
    print("\nTargets")
    checks = [
        (f"ONNX one row >= 100x faster than sklearn: {speedup:,.0f}x", speedup >= 100),
        # Judged against the faster raw predict (ONNX), the stricter reading.
        (f"HTTP p50 at concurrency 1 within 1 ms of raw predict: {http_p50:.3f} ms vs raw ONNX "
         f"{onnx_p50:.3f} ms (+{http_p50 - onnx_p50:.3f} ms; raw sklearn {sk_p50:.3f} ms)",
         http_p50 - min(sk_p50, onnx_p50) <= 1.0),
        (f">= 1 000 req/s with 0 errors: {load['rps']:,.0f} req/s, {load['errors']} errors",
         load["rps"] >= 1_000 and load["errors"] == 0),
        (f"batch scoring >= 100 000 rows/s: {best_batch:,.0f} rows/s in-process, {http_batch:,.0f} over HTTP",
         best_batch >= 100_000),
    ]
    for text, ok in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {text}")
    checks_extra = [(f"kill -9 with --log-durability request loses no acknowledged row: {crashes[1]['lost']} lost",
                     crashes[1]["lost"] == 0)]
    for text, ok in checks_extra:
        print(f"  [{'met' if ok else 'MISSED'}] {text}")
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}. Figures vary with what else the machine is doing:"
          " compare rows of one run, not runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
