"""Sharding's costs (SCALING.md): the router's overhead (`session_get` and `session_set` through
a PL/Proxy router against the same calls directly on the node), and minting a token that routes
to a given partition against a plain one. Run by bench/run.py (`scripts/bench.sh --only
sharding`, or `make bench`) on a router and two nodes of its own (scripts/lib/sharded.sh, ports
54391-54394), PostgreSQL 15.

The calls go to node 1 (no standby: node 0's synchronous standby would make every write wait
for it, which is the price of its failover, not of routing). pgbench -M prepared, 2 clients,
rounds alternating router and node; ratios of same-round pairs.
"""
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASE = int(os.environ.get("VAREL_BENCH_SHARD_BASE_PORT", 54390))
ROUTER, NODE1 = BASE + 1, BASE + 3
PREFIX = "ab" * 24
FIRST = 10**15


def log(message):
    print(f"==> {message}", flush=True)


def shell(script):
    subprocess.run(["bash", "-c", f"source {REPO}/scripts/lib/common.sh; "
                    f"source {REPO}/scripts/lib/sharded.sh; use_major 15; {script}"], check=True)


def psql(port, sql):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                          "-p", str(port), "-U", "postgres", "-d", "varel"],
                         input=sql, text=True, capture_output=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr}")
    return out.stdout.strip()


def pgbench(port, script, seconds, options=""):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            ["pgbench", "-n", "-M", "prepared", "-c", "2", "-j", "2", "-T", str(seconds),
             "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-f", f.name, "varel"],
            text=True, capture_output=True, env=dict(os.environ, PGOPTIONS=options))
    finally:
        os.unlink(f.name)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed: {out.stderr}")
    for line in out.stdout.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise RuntimeError(out.stdout)


GET = ("\\set k random(1, {n})\n"
       "SELECT * FROM varel_session.session_get("
       "(SELECT '" + PREFIX + "' || t.i FROM bench_tokens AS t WHERE t.k = :k));\n")
SET = ("\\set k random(1, {n})\n\\set v random(1, 1000000000)\n"
       "SELECT varel_session.session_set("
       "(SELECT '" + PREFIX + "' || t.i FROM bench_tokens AS t WHERE t.k = :k), 'theme', :v::text);\n")
NEW = "SELECT varel_session.session_new();\n"


def run(args, results):
    n = args.shard_sessions
    log(f"sharding: a router and two nodes on ports {BASE + 1}-{BASE + 4}; {n:,} sessions on node 1")
    shell(f"sharded_start bench-shard {BASE}")
    try:
        # Sessions whose tokens route to node 1's partitions (odd), inserted there as session_new
        # writes them; the same list of their numbers on the router and the node.
        routed_to_node1 = ("get_byte(sha256(decode('" + PREFIX + "' || i::text, 'hex')), 3) & 1 = 1")
        psql(NODE1, f"""
            INSERT INTO varel_session.sessions
                (handle, created_at, updated_at, expires_at, absolute_expires_at, max_age,
                 token_hash, data)
            SELECT i, now(), now(), now() + interval '1 day', now() + interval '30 days',
                   interval '1 day', sha256(decode('{PREFIX}' || i::text, 'hex')),
                   '{{"theme": "dark"}}'::jsonb
            FROM generate_series({FIRST}, {FIRST + 2 * n - 1}) AS i WHERE {routed_to_node1};
            CREATE TABLE bench_tokens AS
                SELECT row_number() OVER () AS k, i FROM generate_series({FIRST}, {FIRST + 2 * n - 1}) AS i
                WHERE {routed_to_node1};
            ALTER TABLE bench_tokens ADD PRIMARY KEY (k);
            VACUUM ANALYZE;""")
        count = int(psql(NODE1, "SELECT count(*) FROM bench_tokens"))
        psql(ROUTER, f"""
            CREATE TABLE bench_tokens AS
                SELECT row_number() OVER () AS k, i FROM generate_series({FIRST}, {FIRST + 2 * n - 1}) AS i
                WHERE {routed_to_node1};
            ALTER TABLE bench_tokens ADD PRIMARY KEY (k);
            VACUUM ANALYZE;""")
        get, put = GET.format(n=count), SET.format(n=count)
        sync_off = "-c synchronous_commit=off"
        psql(NODE1, "ALTER DATABASE varel SET synchronous_commit = off;")
        for round_no in range(1, args.rounds + 1):
            plan = [
                ("shard: session_get through the router", ROUTER, get, ""),
                ("shard: session_get on the node", NODE1, get, ""),
                ("shard: session_set through the router", ROUTER, put, ""),
                ("shard: session_set on the node", NODE1, put, ""),
                ("shard: session_new, plain token", NODE1, NEW, sync_off),
                ("shard: session_new, route-matching token (2 bits)", NODE1, NEW,
                 sync_off + " -c varel_session.route_bits=2 -c varel_session.route=1"),
                ("shard: session_new, route-matching token (8 bits)", NODE1, NEW,
                 sync_off + " -c varel_session.route_bits=8 -c varel_session.route=77"),
            ]
            for name, port, script, options in plan:
                tps = pgbench(port, script, args.seconds, options)
                results.add(name, tps)
                log(f"round {round_no}: {name:55s} {tps:10.0f} tps")
        results.notes["shard_sessions"] = count
    finally:
        shell("sharded_stop bench-shard")


def report(args, results, machine, today):
    r = results
    lines = []
    add = lines.append
    add(f"Run on {today}, {machine}.")
    add(f"Command: `scripts/bench.sh --only sharding` or `make bench` ({r.notes['shard_sessions']:,} "
        f"sessions on node 1, {args.rounds} rounds of {args.seconds} s per workload, pgbench -M "
        "prepared, 2 clients over TCP on loopback; synchronous_commit off on the node; the "
        "router, the node and pgbench share this machine's 2 cores).")
    add("")
    add("| workload | median tps | ratio (same-round pairs) |")
    add("|---|---:|---:|")
    for name, base in [
        ("shard: session_get on the node", None),
        ("shard: session_get through the router", "shard: session_get on the node"),
        ("shard: session_set on the node", None),
        ("shard: session_set through the router", "shard: session_set on the node"),
        ("shard: session_new, plain token", None),
        ("shard: session_new, route-matching token (2 bits)", "shard: session_new, plain token"),
        ("shard: session_new, route-matching token (8 bits)", "shard: session_new, plain token"),
    ]:
        ratio = f"{r.ratio(name, base):.2f}" if base else "1.00"
        add(f"| {name.removeprefix('shard: ')} | {r.median(name):,.0f} | {ratio} |")
    return "\n".join(lines)
