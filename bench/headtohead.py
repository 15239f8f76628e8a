"""The head-to-head: the same small axum app (bench/headtohead/src/main.rs) on
varel-session-client, on tower-sessions with its sqlx PostgreSQL store, and on tower-sessions with
its Redis store, driven over HTTP by wrk with keep-alive connections. Run by bench/run.py
(`scripts/bench.sh --only headtohead`, or `make bench`) on its benchmark cluster.

Per round, each stack serves two endpoints in turn for the same time: `GET /read` (read a value
from the session) and `POST /incr` (add one to a counter in the session), every request of one
logged-in browser (one cookie), CONNECTIONS connections. Reported: requests/s and p99 latency per
stack (medians over the rounds), ratios of same-round pairs, and lost increments (successful
`/incr` responses minus what the counter grew by).
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CRATE = REPO / "bench" / "headtohead"
STACKS = ["varel", "tower-pg", "tower-redis"]
CONNECTIONS = 16
REDIS_PORT = int(os.environ.get("VAREL_BENCH_REDIS_PORT", 6390))
APP_PORTS = {"varel": 3101, "tower-pg": 3102, "tower-redis": 3103}


def log(message):
    print(f"==> {message}", flush=True)


def build():
    log("head-to-head: building bench/headtohead (tower-sessions, sqlx, fred: the first build takes minutes)")
    subprocess.run(["cargo", "build", "--quiet", "--release"], cwd=CRATE, check=True)
    return CRATE / "target" / "release" / "varel-session-headtohead"


def start_redis(workdir):
    """Redis as such session stores are usually run: in memory, no fsync (appendonly off, no
    snapshots), on loopback. (PostgreSQL commits with synchronous_commit on.)"""
    process = subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"],
                          capture_output=True, text=True).stdout.strip() == "PONG":
            return process
        time.sleep(0.1)
    raise RuntimeError("redis-server did not start")


def start_app(binary, stack, store_url):
    bind = f"127.0.0.1:{APP_PORTS[stack]}"
    process = subprocess.Popen([str(binary), stack, store_url, bind],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "listening" not in line:
        raise RuntimeError(f"{stack} did not start: {line} {process.stderr.read()}")
    return process


def request(stack, method, path, cookie=None):
    url = f"http://127.0.0.1:{APP_PORTS[stack]}{path}"
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if cookie:
        req.add_header("Cookie", cookie)
    with urllib.request.urlopen(req) as response:
        set_cookie = response.headers.get("Set-Cookie")
        return response.read().decode(), set_cookie


def log_in(stack):
    """A logged-in browser's cookie on `stack`."""
    _, set_cookie = request(stack, "POST", "/login")
    return set_cookie.split(";")[0]


def wrk(stack, path, cookie, seconds, post=False):
    """wrk against one endpoint; (requests/s, p99 ms, successful responses)."""
    url = f"http://127.0.0.1:{APP_PORTS[stack]}{path}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "{"POST" if post else "GET"}"\n'
                     f'wrk.headers["Cookie"] = "{cookie}"\n')
    try:
        out = subprocess.run(
            ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--latency",
             "-s", script.name, url],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    p99 = re.search(r"99%\s+([0-9.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    # wrk's total counts responses; socket errors are not among them.
    failed = int(errors.group(1)) if errors else 0
    return rps, float(p99.group(1)) * scale, total - failed


def run(cluster, args, results, socket_dir, db="bench_h2h"):
    binary = build()
    cluster.psql("postgres", f"DROP DATABASE IF EXISTS {db};")
    cluster.psql("postgres", f"CREATE DATABASE {db};")
    cluster.psql(db, "CREATE EXTENSION varel_session;")
    # VAREL_H2H_SYNCHRONOUS_COMMIT=off shows where the increments' bound goes without the
    # commit's flush (not a configuration we recommend: a crash loses the last commits).
    sync = os.environ.get("VAREL_H2H_SYNCHRONOUS_COMMIT")
    if sync:
        cluster.psql(db, f"ALTER DATABASE {db} SET synchronous_commit = {sync};")
    pg_url = f"postgresql://postgres@127.0.0.1:{cluster.port}/{db}"
    workdir = Path(tempfile.mkdtemp(prefix="varel-h2h-"))
    processes = []
    try:
        processes.append(start_redis(workdir))
        urls = {"varel": pg_url, "tower-pg": pg_url,
                "tower-redis": f"redis://127.0.0.1:{REDIS_PORT}"}
        for stack in STACKS:
            processes.append(start_app(binary, stack, urls[stack]))
        cookies = {stack: log_in(stack) for stack in STACKS}
        for stack in STACKS:
            body, _ = request(stack, "GET", "/read", cookies[stack])
            assert body == "bench", f"{stack}: /read gave {body!r}"
        seconds = args.h2h_seconds
        for round_no in range(args.h2h_rounds):
            # Each stack goes first in turn, so none always meets the store fresh.
            order = STACKS[round_no % 3:] + STACKS[:round_no % 3]
            for stack in order:
                rps, p99, _ = wrk(stack, "/read", cookies[stack], seconds)
                results.add(f"h2h read rps: {stack}", rps)
                results.add(f"h2h read p99: {stack}", p99)
            for stack in order:
                before = int(request(stack, "GET", "/count", cookies[stack])[0])
                rps, p99, ok = wrk(stack, "/incr", cookies[stack], seconds, post=True)
                # Let requests wrk gave up on at the end finish before counting.
                time.sleep(0.5)
                after = int(request(stack, "GET", "/count", cookies[stack])[0])
                results.add(f"h2h incr rps: {stack}", rps)
                results.add(f"h2h incr p99: {stack}", p99)
                results.add(f"h2h incr ok: {stack}", ok)
                results.add(f"h2h incr counted: {stack}", after - before)
                # Per round: requests in flight when wrk stopped can raise the counter without
                # being counted as acknowledged, which must not hide another round's losses.
                results.add(f"h2h incr lost: {stack}", max(0, ok - (after - before)))
            log(f"head-to-head round {round_no + 1}/{args.h2h_rounds}: " + ", ".join(
                f"{s} read {results.tps[f'h2h read rps: {s}'][-1]:,.0f}/s "
                f"incr {results.tps[f'h2h incr rps: {s}'][-1]:,.0f}/s" for s in STACKS))
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
        cluster.psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE);")


TARGETS = {("read", "tower-pg"): 2.0, ("incr", "tower-pg"): 1.0, ("read", "tower-redis"): 0.9}


def same_round_ratio(results, endpoint, other):
    ours = results.tps[f"h2h {endpoint} rps: varel"]
    theirs = results.tps[f"h2h {endpoint} rps: {other}"]
    return statistics.median(a / b for a, b in zip(ours, theirs)), \
        min(a / b for a, b in zip(ours, theirs)), max(a / b for a, b in zip(ours, theirs))


def report(args, results, machine, today):
    r = results
    lines = []
    add = lines.append
    add(f"Run on {today}, {machine}.")
    add(f"Command: `scripts/bench.sh --only headtohead` or `make bench` ({args.h2h_rounds} rounds; "
        f"per round each stack serves each endpoint for {args.h2h_seconds} s; wrk, 2 threads, "
        f"{CONNECTIONS} keep-alive connections, all requests with one logged-in browser's cookie; "
        "the app, its store and wrk share this machine's 2 cores).")
    add("")
    add("The same axum app (bench/headtohead/src/main.rs) on three session stacks, all with "
        "sliding expiry (24 h of inactivity) and the same cookie attributes. tower-sessions "
        "0.14 is set to save on every request (`with_always_save(true)`), without which a "
        "request that only reads does not move its store's expiry; PostgreSQL commits with "
        "synchronous_commit on, Redis runs without persistence. `/incr` is written as each "
        "stack's user would: varel's atomic `CurrentSession::incr`, tower-sessions' get, +1, "
        "insert.")
    add("")
    add("| stack | read req/s | read p99 ms | incr req/s | incr p99 ms | increments acknowledged | counted | lost |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|")
    for stack in STACKS:
        ok = sum(r.tps[f"h2h incr ok: {stack}"])
        counted = sum(r.tps[f"h2h incr counted: {stack}"])
        lost = sum(r.tps[f"h2h incr lost: {stack}"])
        add(f"| {stack} | {r.median(f'h2h read rps: {stack}'):,.0f} | "
            f"{r.median(f'h2h read p99: {stack}'):.2f} | "
            f"{r.median(f'h2h incr rps: {stack}'):,.0f} | "
            f"{r.median(f'h2h incr p99: {stack}'):.2f} | {ok:,.0f} | {counted:,.0f} | "
            f"{lost:,.0f} ({lost / ok:.1%}) |" if ok else f"| {stack} | no data |")
    add("")
    add("| varel-session-client against | endpoint | ratio (median of same-round pairs) | spread | target | met |")
    add("|---|---|---:|---:|---:|:---:|")
    for other in ["tower-pg", "tower-redis"]:
        for endpoint in ["read", "incr"]:
            med, lo, hi = same_round_ratio(r, endpoint, other)
            target = TARGETS.get((endpoint, other))
            met = "" if target is None else ("yes" if med >= target else "**no**")
            add(f"| {other} | {endpoint} | {med:.2f} | {lo:.2f} to {hi:.2f} | "
                + (f"≥ {target}" if target else "") + f" | {met} |")
    return "\n".join(lines)
