#!/usr/bin/env python3
"""The varel_session benchmark: `make bench` (full) or `make bench-quick` (smoke run).

Starts its own PostgreSQL 15 cluster (scripts/lib/common.sh does the starting), loads N
sessions into varel_session's table and into connect-pg-simple's schema, and runs
`pgbench -M prepared` with 2 clients, alternating the workloads in rounds so that machine
drift hits both sides of every ratio. Prints a table of transactions per second and median
ratios, and writes the same into BENCHMARKS.md with the date and the machine.

Only the standard library; pgbench and psql come with PostgreSQL.
"""

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import headtohead
import sharding

REPO = Path(__file__).resolve().parent.parent
WORKLOADS = REPO / "bench" / "workloads"
CLUSTER = "bench"
SOCKET_DIR = f"/tmp/varel_session/{CLUSTER}"
# Token i is 48 zeros followed by i (16 decimal digits): 64 hex characters, a valid token,
# that pgbench can build with one `||` on both sides of every comparison.
PREFIX = "0" * 48
FIRST = 10**15

# connect-pg-simple's schema, as its table.sql creates it.
CPS_SCHEMA = """
CREATE TABLE session (
    sid varchar NOT NULL COLLATE "default",
    sess json NOT NULL,
    expire timestamp(6) NOT NULL
) WITH (OIDS=FALSE);
ALTER TABLE session ADD CONSTRAINT session_pkey PRIMARY KEY (sid) NOT DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX "IDX_session_expire" ON session (expire);
""".replace(" WITH (OIDS=FALSE)", "")

# The same small session on both sides: what an app keeps (a CSRF token, a preference). Each
# store adds what its design needs: express-session keeps the cookie in the JSON,
# varel_session keeps deadlines in columns.
APP_DATA = '{"csrf": "q8Zb1t0PdkY3vWnHs2xLmA", "theme": "dark"}'
CPS_SESS = (
    '{"cookie": {"originalMaxAge": 86400000, "expires": 1893456000000, "httpOnly": true, '
    '"path": "/"}, "csrf": "q8Zb1t0PdkY3vWnHs2xLmA", "theme": "dark"}'
)


def log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


class Cluster:
    def __init__(self, port):
        self.port = port

    def shell(self, script):
        subprocess.run(
            ["bash", "-c", f"source {REPO}/scripts/lib/common.sh; {script}"],
            check=True,
        )

    def start(self, shared_buffers):
        self.shell(f"cluster_remove {CLUSTER}")
        settings = [
            f"shared_buffers = '{shared_buffers}'",
            "max_wal_size = '20GB'",
            "checkpoint_timeout = '1h'",
            "max_connections = 50",
            "huge_pages = try",
            "jit = off",
            # Background vacuum would land on whichever workload happens to run; the benchmark
            # vacuums both tables itself at the start of every round instead.
            "autovacuum = off",
        ]
        quoted = " ".join(f'"{s}"' for s in settings)
        self.shell(f"cluster_start {CLUSTER} {self.port} {quoted}")

    def stop(self):
        self.shell(f"cluster_stop {CLUSTER}")

    def psql(self, db, sql, options=""):
        env = dict(os.environ, PGOPTIONS=options)
        out = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", SOCKET_DIR,
             "-p", str(self.port), "-U", "postgres", "-d", db],
            input=sql, text=True, capture_output=True, env=env,
        )
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr}\n{sql[:500]}")
        return out.stdout.strip()

    def pgbench(self, db, script, seconds, options="", progress=False):
        env = dict(os.environ, PGOPTIONS=options)
        cmd = ["pgbench", "-n", "-M", "prepared", "-c", "2", "-j", "2", "-T", str(seconds),
               "-h", SOCKET_DIR, "-p", str(self.port), "-U", "postgres", "-f", script, db]
        if progress:
            cmd[1:1] = ["-P", "1"]
        out = subprocess.run(cmd, text=True, capture_output=True, env=env)
        if out.returncode != 0:
            raise RuntimeError(f"pgbench failed on {script}: {out.stderr}")
        tps = float(re.search(r"^tps = ([0-9.]+)", out.stdout, re.M).group(1))
        return tps, out.stderr


def render(template, lo, hi):
    text = (WORKLOADS / f"{template}.sql").read_text()
    text = text.replace("{lo}", str(lo)).replace("{hi}", str(hi)).replace("{prefix}", PREFIX)
    path = Path(tempfile.gettempdir()) / f"varel_bench_{template}_{lo}_{hi}.sql"
    path.write_text(text)
    return str(path)


def load_sessions(cluster, db, n, with_cps, expired_every=0, schema_sql=None):
    """n sessions with tokens PREFIX || FIRST+i; with expired_every=k, every k-th is expired.
    schema_sql replaces CREATE EXTENSION (for an older release's objects)."""
    cluster.psql("postgres", f"DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db};")
    cluster.psql(db, schema_sql or "CREATE EXTENSION varel_session;")
    expired = (f"CASE WHEN {expired_every} > 0 AND i % {expired_every} = 0 "
               f"THEN now() - interval '1 minute' ELSE now() + interval '1 day' END")
    # Rows exactly as session_new writes them, inserted in bulk (the API creates one per call).
    cluster.psql(db, f"""
        INSERT INTO varel_session.sessions
            (handle, created_at, updated_at, expires_at, absolute_expires_at, max_age,
             token_hash, data)
        SELECT i, now(), now(), {expired}, now() + interval '30 days', interval '1 day',
               sha256(decode('{PREFIX}' || i::text, 'hex')), '{APP_DATA}'::jsonb
        FROM generate_series({FIRST}, {FIRST + n - 1}) AS i;
    """)
    if with_cps:
        cluster.psql(db, CPS_SCHEMA)
        cluster.psql(db, f"""
            INSERT INTO session (sid, sess, expire)
            SELECT '{PREFIX}' || i::text, '{CPS_SESS}'::json, now() + interval '1 day'
            FROM generate_series({FIRST}, {FIRST + n - 1}) AS i;
        """)
    cluster.psql(db, "VACUUM ANALYZE; CHECKPOINT;")


def bytes_per_row(cluster, db, table):
    return float(cluster.psql(db, f"""
        SELECT pg_total_relation_size('{table}')::float8 / greatest(count(*), 1) FROM {table}
    """))


def hot_share(cluster, db, table):
    row = cluster.psql(db, f"""
        SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
        WHERE relid = '{table}'::regclass
    """)
    updates, hot = (int(x) for x in row.split("|"))
    return updates, hot


def settle(cluster, db):
    """The same starting point for every round: dead rows vacuumed, dirty pages written."""
    cluster.psql(db, "VACUUM; CHECKPOINT;")


def reset_stats(cluster, db):
    cluster.psql(db, "SELECT pg_stat_reset();")


def wait_for_stats():
    # Backends flush table statistics at most once a second, and when they exit.
    time.sleep(1.5)


class Results:
    def __init__(self):
        self.tps = {}  # name -> [tps per round]
        self.notes = {}

    def add(self, name, tps):
        self.tps.setdefault(name, []).append(tps)

    def median(self, name):
        return statistics.median(self.tps[name])

    def ratio(self, a, b):
        """Median over rounds of the per-round ratio a/b (same-round pairs)."""
        return statistics.median(x / y for x, y in zip(self.tps[a], self.tps[b]))


def run_rounds(cluster, args, results, db, plan, around=None):
    """Runs every (name, template, pgbench options) of `plan` once per round over all
    sessions, the table vacuumed and checkpointed before each round, so machine drift hits
    every workload of a round alike. `db` is the database, or a list of them: then each entry
    of `plan` starts with the database it runs on, and all are settled before each round.
    `around` maps a workload's name to SQL run before it and SQL run after it, every round."""
    several = isinstance(db, list)
    lo, hi = FIRST, FIRST + args.sessions - 1
    width = max(len(entry[0]) for entry in plan)
    for round_no in range(1, args.rounds + 1):
        for each in db if several else [db]:
            settle(cluster, each)
        for entry in plan:
            if several:
                name, on, template, options = entry
            else:
                (name, template, options), on = entry, db
            before, after = (around or {}).get(name, (None, None))
            if before:
                cluster.psql(on, before)
            tps, _ = cluster.pgbench(on, render(template, lo, hi), args.seconds, options)
            if after:
                cluster.psql(on, after)
            results.add(name, tps)
            log(f"round {round_no}: {name:{width}s} {tps:10.0f} tps")


def pair_ratios(cluster, args, results, key, side_a, side_b, options=""):
    """The ratio a/b from args.pairs back-to-back pairs of short runs (A then B, B then A), each
    side a (database, workload template): on a machine that drifts by tens of percent within
    minutes, the steadier measure of ratios a few percent apart."""
    lo, hi = FIRST, FIRST + args.sessions - 1
    for i in range(args.pairs):
        order = [(side_a, "a"), (side_b, "b")]
        if i % 2:
            order.reverse()
        tps = {}
        for (db, template), side in order:
            tps[side], _ = cluster.pgbench(db, render(template, lo, hi), args.pair_seconds, options)
        results.add(key, tps["a"] / tps["b"])
    log(f"{key}: median ratio {results.median(key):.3f} over {args.pairs} pairs")


def main_workloads(cluster, args, results):
    db, n = "bench", args.sessions
    log(f"loading {n:,} sessions into both schemas")
    load_sessions(cluster, db, n, with_cps=True)
    results.notes["bytes_vs"] = bytes_per_row(cluster, db, "varel_session.sessions")
    results.notes["bytes_cps"] = bytes_per_row(cluster, db, "session")

    lo, hi = FIRST, FIRST + n - 1
    on, off = "", "-c synchronous_commit=off"
    plan = [
        ("SELECT 1", "select1", on),
        ("cps get", "cps_get", on),
        ("cps get, six columns", "cps_get_six_columns", on),
        ("session_get", "vs_get", on),
        ("session_load", "vs_load", on),
        ("cps save, sync on", "cps_save", on),
        ("session_set, sync on", "vs_set", on),
        ("cps save, sync off", "cps_save", off),
        ("session_set, sync off", "vs_set", off),
        ("cps touch, sync on", "cps_touch", on),
        ("cps touch, sync off", "cps_touch", off),
        ("cps INSERT, sync off", "cps_insert", off),
        ("session_new, sync off", "vs_new", off),
    ]
    reset_stats(cluster, db)
    run_rounds(cluster, args, results, db, plan)
    wait_for_stats()
    results.notes["hot_set"] = hot_share(cluster, db, "varel_session.sessions")
    results.notes["hot_cps"] = hot_share(cluster, db, "session")

    cluster.psql(db, (REPO / "bench" / "design_alternatives.sql").read_text())
    feature_workloads(cluster, args, results, db)
    paired_reads(cluster, args, results, db)
    design_workloads(cluster, args, results, db)
    client_workloads(cluster, args, results, db)

    # session_load when its refresh is due: every session has 70% of max_age left, so the
    # first load of each writes (and later loads of the same session do not).
    log("session_load with a refresh due on every session")
    cluster.psql(db, """
        UPDATE varel_session.sessions SET expires_at = now() + interval '1 day' * 0.7;
        VACUUM varel_session.sessions;
    """)
    reset_stats(cluster, db)
    for round_no in range(1, args.rounds + 1):
        tps, _ = cluster.pgbench(db, render("vs_load", lo, hi), args.seconds, off)
        results.add("session_load, refresh due, sync off", tps)
        log(f"round {round_no}: session_load, refresh due {tps:10.0f} tps")
    wait_for_stats()
    results.notes["hot_load"] = hot_share(cluster, db, "varel_session.sessions")
    cluster.psql("postgres", f"DROP DATABASE {db};")


def feature_workloads(cluster, args, results, db):
    """The same-key atomic operations against the one statement an app would otherwise write on
    connect-pg-simple's table, and the cost of session events on session_new. With
    synchronous_commit off: both sides write one row, so with it on both are bound by the
    disk's flush rate, and off shows what the work costs."""
    log("same-key operations vs the plain SQL for the same job; session events on and off")
    off = "-c synchronous_commit=off"
    plan = [
        ("cps incr (jsonb_set UPDATE), sync off", "cps_incr", off),
        ("session_incr, sync off", "vs_incr", off),
        ("cps push, newest 10 (UPDATE), sync off", "cps_push", off),
        ("session_push, newest 10, sync off", "vs_push", off),
        ("cps flash: set, then take (2 UPDATEs), sync off", "cps_take", off),
        ("session_set then session_take, sync off", "vs_take", off),
        ("cps save, whole session, sync off", "cps_save", off),
        ("session_set_data, sync off", "vs_set_data", off),
        ("session_new, events off, sync off", "vs_new", off),
        ("session_new, events on, sync off", "vs_new", off + " -c varel_session.events=on"),
    ]
    run_rounds(cluster, args, results, db, plan)


def release_comparison(cluster, args, results):
    """session_get, session_load and session_set of this build against the previous release's
    library (scripts/bench.sh builds it as $libdir/varel_session_previous), each on its own
    database with the same sessions, in back-to-back pairs like the read ratios."""
    library = os.environ.get("VAREL_BENCH_PREVIOUS_LIBRARY")
    script = os.environ.get("VAREL_BENCH_PREVIOUS_SQL")
    if not library or not script:
        log("no previous release built; skipping the comparison with it")
        return
    n = args.sessions
    log(f"loading {n:,} sessions for the previous release ({Path(script).name})")
    # The previous release's install script run as plain SQL against its own library: the
    # objects are the ones that release created, in a database of their own.
    sql = Path(script).read_text()
    # Only CREATE EXTENSION may mark a configuration table; as plain SQL that line is dropped.
    sql = "\n".join(l for l in sql.splitlines()
                    if not l.startswith("\\echo") and "pg_extension_config_dump" not in l)
    sql = sql.replace("MODULE_PATHNAME", f"$libdir/{library}")
    load_sessions(cluster, "bench_previous", n, with_cps=False, schema_sql="CREATE SCHEMA varel_session;\n" + sql)
    load_sessions(cluster, "bench_current", n, with_cps=False)
    off = "-c synchronous_commit=off"
    for name, template, options in [("session_get", "vs_get", ""), ("session_load", "vs_load", ""),
                                    ("session_set, sync off", "vs_set", off)]:
        pair_ratios(cluster, args, results, f"release: {name}, this build / previous release",
                    ("bench_current", template), ("bench_previous", template), options)


PAIRS = [
    ("session_get", "vs_get", "cps get", "cps_get"),
    ("session_load", "vs_load", "cps get", "cps_get"),
    ("session_get", "vs_get", "cps get, six columns", "cps_get_six_columns"),
    ("session_get, data column", "vs_get_data", "cps get", "cps_get"),
    # The price of the checks session_get makes on every call (catalog/: the table, its
    # primary key and the result row type are still what the C code relies on).
    ("session_get", "vs_get", "session_get without per-call checks", "alt_get_c_unchecked"),
]


def paired_reads(cluster, args, results, db):
    """Read ratios from short back-to-back runs, A B then B A, so each ratio compares two runs
    a few seconds apart: on a machine that drifts by tens of percent within minutes, this is
    the steadier measure of read paths whose difference is a few percent."""
    settle(cluster, db)
    for name_a, template_a, name_b, template_b in PAIRS:
        pair_ratios(cluster, args, results, f"paired: {name_a} / {name_b}", (db, template_a),
                    (db, template_b))


def design_workloads(cluster, args, results, db):
    """What the design choices were measured against (bench/design_alternatives.sql)."""
    log("design alternatives: SQL functions, SECURITY DEFINER + SET search_path, RETURNS TABLE")
    lo, hi = FIRST, FIRST + args.sessions - 1
    off = "-c synchronous_commit=off"
    plan = [
        ("design: session_get (C, no SQL)", "vs_get", ""),
        ("design: SQL function, DEFINER + SET search_path", "alt_get_sql_pinned", ""),
        ("design: SQL function, DEFINER, no SET", "alt_get_sql_definer", ""),
        ("design: C function, DEFINER + SET search_path", "alt_get_c_pinned", ""),
        ("design: C function declared RETURNS TABLE", "alt_get_c_returns_table", ""),
        ("design: session_set (C), sync off", "vs_set", off),
        ("design: SQL UPDATE function, DEFINER + SET, sync off", "alt_set_sql_pinned", off),
    ]
    run_rounds(cluster, args, results, db, plan)

    # fillfactor: the share of HOT updates and the size at 100 (the default) and at 80.
    for fillfactor in (100, 80):
        cluster.psql(db, f"""
            ALTER TABLE varel_session.sessions SET (fillfactor = {fillfactor});
            VACUUM FULL varel_session.sessions;
        """)
        size = bytes_per_row(cluster, db, "varel_session.sessions")
        reset_stats(cluster, db)
        tps, _ = cluster.pgbench(db, render("vs_set", lo, hi), args.seconds * 2, off)
        wait_for_stats()
        updates, hot = hot_share(cluster, db, "varel_session.sessions")
        results.notes.setdefault("fillfactor", []).append((fillfactor, size, updates, hot, tps))
        log(f"fillfactor {fillfactor}: {size:.0f} B/session, HOT {hot}/{updates}, {tps:.0f} tps")


def client_workloads(cluster, args, results, db):
    """The Rust client: PostgresStore::load against the same SQL through raw tokio-postgres, in
    as many short rounds as the paired reads (the ratios are a few percent apart)."""
    log("client crate: PostgresStore::load vs raw tokio-postgres (building bench/client)")
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "varel-session-client-bench"],
                   cwd=REPO, check=True)
    binary = REPO / "target" / "release" / "varel-session-client-bench"
    settle(cluster, db)
    out = subprocess.run(
        [str(binary), SOCKET_DIR, str(cluster.port), db, str(FIRST), str(args.sessions),
         str(args.pair_seconds), str(args.pairs)],
        text=True, capture_output=True, check=True).stdout
    for line in out.splitlines():
        name, *values = line.split()
        label = {"raw": "client: raw tokio-postgres, prepared",
                 "store": "client: PostgresStore::load",
                 "store_held": "client: PostgresStore::on(a held connection).load"}[name]
        for value in values:
            results.add(label, float(value))
    log(f"client: {out.strip()}")


def sql_edition_workloads(cluster, args, results):
    """The SQL edition (varel_session_sql) beside the C edition and connect-pg-simple, each on
    a database of its own with the same sessions, alternating in rounds; and the SQL
    edition's read and write ratios against connect-pg-simple in back-to-back pairs."""
    n = args.sessions
    log(f"loading {n:,} sessions into the SQL edition (with connect-pg-simple's table) and the C edition")
    load_sessions(cluster, "bench_sql", n, with_cps=True,
                  schema_sql="CREATE EXTENSION varel_session_sql;")
    load_sessions(cluster, "bench_c", n, with_cps=False)
    on, off = "", "-c synchronous_commit=off"
    plan = [
        ("sql: cps get", "bench_sql", "cps_get", on),
        ("sql: SQL edition session_get", "bench_sql", "vs_get", on),
        ("sql: C edition session_get", "bench_c", "vs_get", on),
        ("sql: SQL edition session_load", "bench_sql", "vs_load", on),
        ("sql: C edition session_load", "bench_c", "vs_load", on),
        ("sql: cps save, sync on", "bench_sql", "cps_save", on),
        ("sql: SQL edition session_set, sync on", "bench_sql", "vs_set", on),
        ("sql: C edition session_set, sync on", "bench_c", "vs_set", on),
        ("sql: cps save, sync off", "bench_sql", "cps_save", off),
        ("sql: SQL edition session_set, sync off", "bench_sql", "vs_set", off),
        ("sql: C edition session_set, sync off", "bench_c", "vs_set", off),
        ("sql: cps INSERT, sync off", "bench_sql", "cps_insert", off),
        ("sql: SQL edition session_new, sync off", "bench_sql", "vs_new", off),
        ("sql: C edition session_new, sync off", "bench_c", "vs_new", off),
    ]
    reset_stats(cluster, "bench_sql")
    run_rounds(cluster, args, results, ["bench_sql", "bench_c"], plan)
    wait_for_stats()
    results.notes["hot_sql"] = hot_share(cluster, "bench_sql", "varel_session.sessions")
    results.notes["bytes_sql"] = bytes_per_row(cluster, "bench_sql", "varel_session.sessions")
    settle(cluster, "bench_sql")
    for name, template_a, template_b, options in SQL_EDITION_PAIRS:
        pair_ratios(cluster, args, results, f"sql paired: {name}", ("bench_sql", template_a),
                    ("bench_sql", template_b), options)
    sql_edition_design(cluster, args, results)
    for db in ("bench_sql", "bench_c"):
        cluster.psql("postgres", f"DROP DATABASE {db};")


def sql_edition_design(cluster, args, results):
    """The SQL edition's design alternatives (bench/sql_edition_alternatives.sql), in rounds
    against what it ships: the token check with a regular expression, session_get in SQL
    instead of PL/pgSQL, and session_set with the C edition's BEFORE UPDATE trigger on the
    table (created for that workload and dropped after it, in every round)."""
    log("the SQL edition's design alternatives")
    db = "bench_sql"
    off = "-c synchronous_commit=off"
    cluster.psql(db, (REPO / "bench" / "sql_edition_alternatives.sql").read_text())
    with_trigger = "sql design: session_set with the updated_at trigger, sync off"
    plan = [
        ("sql design: session_get (shipped)", "vs_get", ""),
        ("sql design: token checked with a regular expression", "alt_sql_get_regex", ""),
        ("sql design: session_get in SQL, not PL/pgSQL", "alt_sql_get_sql", ""),
        ("sql design: session_set (shipped), sync off", "vs_set", off),
        (with_trigger, "vs_set", off),
    ]
    run_rounds(cluster, args, results, db, plan, around={with_trigger: (
        """CREATE TRIGGER bench_updated_at BEFORE UPDATE OF data, user_id
           ON varel_session.sessions FOR EACH ROW
           EXECUTE FUNCTION bench_alt.sessions_set_updated_at();""",
        "DROP TRIGGER bench_updated_at ON varel_session.sessions;")})


# The SQL edition's targets, judged on back-to-back pairs in its own database.
SQL_EDITION_PAIRS = [
    ("session_get / cps get", "vs_get", "cps_get", ""),
    ("session_load / cps get", "vs_load", "cps_get", ""),
    ("session_set / cps save, sync on", "vs_set", "cps_save", ""),
]
SQL_EDITION_TARGETS = {
    "session_get / cps get": 0.5,
    "session_set / cps save, sync on": 1.0,
}


def scale_workloads(cluster, args, results):
    small, large = args.scale
    for n, db in ((small, "bench_small"), (large, "bench_large")):
        log(f"loading {n:,} sessions for the scale comparison")
        load_sessions(cluster, db, n, with_cps=False)
    for round_no in range(1, args.rounds + 1):
        for n, db in ((small, "bench_small"), (large, "bench_large")):
            settle(cluster, db)
            tps, _ = cluster.pgbench(db, render("vs_get", FIRST, FIRST + n - 1), args.seconds)
            results.add(f"session_get at {n:,}", tps)
            log(f"round {round_no}: session_get at {n:,} {tps:10.0f} tps")
    results.notes["scale"] = (f"session_get at {large:,}", f"session_get at {small:,}")
    for db in ("bench_small", "bench_large"):
        cluster.psql("postgres", f"DROP DATABASE {db};")


def cleanup_workload(cluster, args, results):
    """Cleanup of n expired among 2n sessions while 2 clients call session_get."""
    n, db = args.cleanup_sessions, "bench_cleanup"
    lo, hi = FIRST, FIRST + 2 * n - 1
    # Even tokens are expired, odd ones live; the clients only ask for live ones.
    runs = []
    for pause in args.cleanup_pauses:
        log(f"loading {n:,} live and {n:,} expired sessions (cleanup pause {pause})")
        load_sessions(cluster, db, 2 * n, with_cps=False, expired_every=2)
        script = render("vs_get_live", lo, hi)
        # One pgbench run: `lead` seconds without cleanup (the baseline), then the cleanup,
        # then a few seconds more; throughput before and during come from its per-second
        # progress reports, so machine drift between separate runs cannot skew the ratio.
        lead = max(args.seconds, 8)
        duration = {}

        def run_cleanup():
            time.sleep(lead)
            start = time.monotonic()
            deleted = cluster.psql(
                db, f"CALL varel_session.session_cleanup_run(10000, '{pause}');")
            duration["start"], duration["end"] = start, time.monotonic()
            duration["deleted"] = int(deleted)

        thread = threading.Thread(target=run_cleanup)
        bench_start = time.monotonic()
        thread.start()
        _, progress = cluster.pgbench(db, script, lead + 60, progress=True)
        thread.join()
        before, during = [], []
        for m in re.finditer(r"progress: ([0-9.]+) s, ([0-9.]+) tps", progress):
            t_end, tps = bench_start + float(m.group(1)), float(m.group(2))
            if 2 <= float(m.group(1)) <= lead - 0.5:
                before.append(tps)
            elif duration["start"] <= t_end - 1 and t_end <= duration["end"]:
                during.append(tps)
        elapsed = duration["end"] - duration["start"]
        baseline = statistics.mean(before)
        if not during:  # cleanup took less than a whole progress interval
            during = [baseline]
        runs.append({
            "pause": pause,
            "deleted": duration["deleted"],
            "seconds": elapsed,
            "rate": duration["deleted"] / elapsed,
            "baseline": baseline,
            "during": statistics.mean(during),
        })
        log(f"cleanup (pause {pause}): {duration['deleted']:,} rows in {elapsed:.1f} s, "
            f"get {baseline:.0f} tps before, {statistics.mean(during):.0f} tps during")
        cluster.psql("postgres", f"DROP DATABASE {db};")
    results.notes["cleanup"] = runs


def huge_pages_state():
    try:
        total = next(l for l in Path("/proc/meminfo").read_text().splitlines()
                     if l.startswith("HugePages_Total"))
        return "on" if int(total.split()[1]) > 0 else "off"
    except (OSError, StopIteration, ValueError):
        return "unknown"


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    pg = subprocess.run(["pgbench", "--version"], text=True, capture_output=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, {pg}")


def report(args, results):
    r = results
    lines = []
    add = lines.append
    add(f"Run on {datetime.date.today().isoformat()}, {machine()}.")
    add(f"Command: `{' '.join(['make bench' if not args.quick else 'make bench-quick'])}` "
        f"({args.sessions:,} sessions, {args.rounds} rounds of {args.seconds} s per workload, "
        f"pgbench -M prepared, 2 clients, unix socket, shared_buffers {args.shared_buffers}, "
        f"huge pages {huge_pages_state()}, autovacuum off with a VACUUM and CHECKPOINT before "
        f"every round).")
    add("")
    add("| workload | median tps | ratio | target | met |")
    add("|---|---:|---:|---:|:---:|")

    def row(name, base=None, target=None):
        ratio = r.ratio(name, base) if base else None
        met = "" if target is None else ("yes" if ratio >= target else "**no**")
        add(f"| {name}" + (f" vs {base}" if base else "") + f" | {r.median(name):,.0f} | "
            + (f"{ratio:.2f}" if ratio is not None else "") + " | "
            + (f"≥ {target}" if target is not None else "") + f" | {met} |")

    row("SELECT 1")
    row("cps get")
    row("cps get, six columns", "cps get")
    row("session_get", "cps get")
    row("session_get", "cps get, six columns")
    row("session_load", "cps get")
    row("cps save, sync on")
    row("session_set, sync on", "cps save, sync on", 1.0)
    row("cps save, sync off")
    row("session_set, sync off", "cps save, sync off", 0.9)
    row("cps touch, sync on")
    row("cps touch, sync off")
    row("cps INSERT, sync off")
    row("session_new, sync off", "cps INSERT, sync off", 0.9)
    row("session_load, refresh due, sync off")
    row("client: raw tokio-postgres, prepared")
    row("client: PostgresStore::load", "client: raw tokio-postgres, prepared", 0.95)
    row("client: PostgresStore::on(a held connection).load", "client: raw tokio-postgres, prepared")
    if "scale" in r.notes:
        large, small = r.notes["scale"]
        row(small)
        row(large, small, 0.8)
    add("")
    add(f"Read ratios from {args.pairs} back-to-back pairs of {args.pair_seconds}-second runs "
        "(A then B, B then A), the steadier measure on this machine; the targets are judged here:")
    add("")
    add("| ratio | median | spread (min to max) | target | met |")
    add("|---|---:|---:|---:|:---:|")
    targets = {
        "session_get / cps get": 0.90,
        "session_load / cps get": 0.85,
        "session_get / session_get without per-call checks": 0.98,
    }
    for name_a, _, name_b, _ in PAIRS:
        label = f"{name_a} / {name_b}"
        values = r.tps[f"paired: {label}"]
        target = targets.get(label)
        med = statistics.median(values)
        met = "" if target is None else ("yes" if med >= target else "**no**")
        add(f"| {label} | {med:.3f} | {min(values):.2f} to {max(values):.2f} | "
            + (f"≥ {target}" if target else "") + f" | {met} |")
    add("")
    add("| measure | varel_session | connect-pg-simple | target | met |")
    add("|---|---:|---:|---:|:---:|")
    upd, hot = r.notes["hot_set"]
    cupd, chot = r.notes["hot_cps"]
    lupd, lhot = r.notes["hot_load"]
    share = lambda h, u: h / u if u else 0.0
    add(f"| HOT share of updates, set workloads | {share(hot, upd):.3f} ({hot:,} of {upd:,}) | "
        f"{share(chot, cupd):.3f} ({chot:,} of {cupd:,}) | ≥ 0.9 | "
        f"{'yes' if share(hot, upd) >= 0.9 else '**no**'} |")
    add(f"| HOT share of updates, load workload (refresh due) | {share(lhot, lupd):.3f} "
        f"({lhot:,} of {lupd:,}) | | ≥ 0.9 | {'yes' if share(lhot, lupd) >= 0.9 else '**no**'} |")
    bv, bc = r.notes["bytes_vs"], r.notes["bytes_cps"]
    add(f"| bytes per session on disk (table + indexes + TOAST) / rows | {bv:.0f} | {bc:.0f} | "
        f"≤ connect-pg-simple | {'yes' if bv <= bc else '**no**'} |")
    for run in r.notes.get("cleanup", []):
        ratio = run["during"] / run["baseline"]
        add(f"| cleanup of {run['deleted']:,} expired among {2 * args.cleanup_sessions:,} "
            f"(pause {run['pause']}): session_get during / without | {ratio:.2f} "
            f"({run['during']:,.0f} / {run['baseline']:,.0f} tps); "
            f"{run['rate']:,.0f} rows/s, {run['seconds']:.1f} s | | ≥ 0.7 | "
            f"{'yes' if ratio >= 0.7 else '**no**'} |")
    add("")
    add("Same-key atomic operations against the one statement an app would otherwise write on "
        "connect-pg-simple's table, and session events (medians of same-round ratios):")
    add("")
    add("| workload | median tps | ratio | target | met |")
    add("|---|---:|---:|---:|:---:|")
    for ours, theirs, target in [
        ("session_incr, sync off", "cps incr (jsonb_set UPDATE), sync off", 1.0),
        ("session_push, newest 10, sync off", "cps push, newest 10 (UPDATE), sync off", 1.0),
        ("session_set then session_take, sync off", "cps flash: set, then take (2 UPDATEs), sync off", 1.0),
        ("session_set_data, sync off", "cps save, whole session, sync off", 1.0),
        ("session_new, events on, sync off", "session_new, events off, sync off", None),
    ]:
        if ours not in r.tps:
            continue
        ratio = r.ratio(ours, theirs)
        met = "" if target is None else ("yes" if ratio >= target else "**no**")
        add(f"| {ours} vs {theirs} | {r.median(ours):,.0f} vs {r.median(theirs):,.0f} | "
            f"{ratio:.2f} | {'≥ ' + str(target) if target else ''} | {met} |")
    release = [k for k in r.tps if k.startswith("release: ")]
    if release:
        add("")
        add(f"This build against the previous release's library, {args.pairs} back-to-back pairs "
            f"of {args.pair_seconds}-second runs on two databases with the same sessions "
            "(ratio near 1.00 = no slower):")
        add("")
        add("| ratio | median | spread (min to max) |")
        add("|---|---:|---:|")
        for key in release:
            values = r.tps[key]
            add(f"| {key.removeprefix('release: ')} | {statistics.median(values):.3f} | "
                f"{min(values):.2f} to {max(values):.2f} |")
    add("")
    add("Design alternatives, measured in the same run (bench/design_alternatives.sql):")
    add("")
    add("| workload | median tps | ratio to the shipped design |")
    add("|---|---:|---:|")
    design = [
        ("design: session_get (C, no SQL)", None),
        ("design: SQL function, DEFINER + SET search_path", "design: session_get (C, no SQL)"),
        ("design: SQL function, DEFINER, no SET", "design: session_get (C, no SQL)"),
        ("design: C function, DEFINER + SET search_path", "design: session_get (C, no SQL)"),
        ("design: C function declared RETURNS TABLE", "design: session_get (C, no SQL)"),
        ("design: session_set (C), sync off", None),
        ("design: SQL UPDATE function, DEFINER + SET, sync off", "design: session_set (C), sync off"),
    ]
    for name, base in design:
        ratio = f"{r.ratio(name, base):.2f}" if base else "1.00"
        add(f"| {name.removeprefix('design: ')} | {r.median(name):,.0f} | {ratio} |")
    add("")
    add("| fillfactor | bytes per session | HOT share of session_set updates | session_set tps, sync off |")
    add("|---:|---:|---:|---:|")
    for fillfactor, size, updates, hot, tps in r.notes.get("fillfactor", []):
        add(f"| {fillfactor} | {size:.0f} | {hot / updates if updates else 0:.3f} ({hot:,} of {updates:,}) | {tps:,.0f} |")
    return "\n".join(lines)


def report_sql_edition(args, results):
    """The SQL edition's section of BENCHMARKS.md (its own block, so that
    `--only sql_edition` can refresh it alone)."""
    r = results
    lines = []
    add = lines.append
    add(f"Run on {datetime.date.today().isoformat()}, {machine()}.")
    add(f"Command: `scripts/bench.sh --only sql_edition` or `make bench` ({args.sessions:,} "
        f"sessions, {args.rounds} rounds of {args.seconds} s per workload, pgbench -M prepared, "
        f"2 clients, shared_buffers {args.shared_buffers}).")
    add("")
    add("The SQL edition (`varel_session_sql`, no native code) beside the C edition and "
        "connect-pg-simple, each on its own database with the same sessions, in the same "
        "rounds (medians of same-round ratios):")
    add("")
    add("| workload | SQL edition tps | C edition tps | cps tps | SQL / cps | SQL / C |")
    add("|---|---:|---:|---:|---:|---:|")
    for label, ours, theirs in [
        ("session_get vs cps get", "session_get", "cps get"),
        ("session_load vs cps get", "session_load", "cps get"),
        ("session_set vs cps save, sync on", "session_set, sync on", "cps save, sync on"),
        ("session_set vs cps save, sync off", "session_set, sync off", "cps save, sync off"),
        ("session_new vs cps INSERT, sync off", "session_new, sync off", "cps INSERT, sync off"),
    ]:
        sql, c, cps = (f"sql: SQL edition {ours}", f"sql: C edition {ours}", f"sql: {theirs}")
        add(f"| {label} | {r.median(sql):,.0f} | {r.median(c):,.0f} | {r.median(cps):,.0f} | "
            f"{r.ratio(sql, cps):.2f} | {r.ratio(sql, c):.2f} |")
    add("")
    add(f"| SQL edition ratio ({args.pairs} back-to-back pairs) | median | spread | target | met |")
    add("|---|---:|---:|---:|:---:|")
    for name, *_ in SQL_EDITION_PAIRS:
        values = r.tps[f"sql paired: {name}"]
        med = statistics.median(values)
        target = SQL_EDITION_TARGETS.get(name)
        met = "" if target is None else ("yes" if med >= target else "**no**")
        add(f"| {name} | {med:.3f} | {min(values):.2f} to {max(values):.2f} | "
            + (f"≥ {target}" if target else "") + f" | {met} |")
    upd, hot = r.notes["hot_sql"]
    share = hot / upd if upd else 0.0
    add(f"| HOT share of the SQL edition's updates, all workloads above | {share:.3f} "
        f"({hot:,} of {upd:,}) | | ≥ 0.9 | {'yes' if share >= 0.9 else '**no**'} |")
    add(f"| bytes per session on disk, SQL edition | {r.notes['bytes_sql']:.0f} | | | |")
    add("")
    add("The SQL edition's design alternatives, in the same rounds "
        "(bench/sql_edition_alternatives.sql):")
    add("")
    add("| workload | median tps | ratio to the shipped design |")
    add("|---|---:|---:|")
    for name, base in [
        ("sql design: session_get (shipped)", None),
        ("sql design: token checked with a regular expression", "sql design: session_get (shipped)"),
        ("sql design: session_get in SQL, not PL/pgSQL", "sql design: session_get (shipped)"),
        ("sql design: session_set (shipped), sync off", None),
        ("sql design: session_set with the updated_at trigger, sync off",
         "sql design: session_set (shipped), sync off"),
    ]:
        ratio = f"{r.ratio(name, base):.2f}" if base else "1.00"
        add(f"| {name.removeprefix('sql design: ')} | {r.median(name):,.0f} | {ratio} |")
    return "\n".join(lines)


def write_benchmarks_md(table, name="bench"):
    path = REPO / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{table}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text,
                      flags=re.S)
    else:
        text += f"\n## Latest run ({name})\n\n{block}\n"
    path.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: small and short")
    parser.add_argument("--port", type=int, default=int(os.environ.get("VAREL_BENCH_PORT", 54323)))
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--pairs", dest="pairs_override", type=int,
                        help="back-to-back pairs per ratio (default 12)")
    parser.add_argument("--only", choices=["main", "sql_edition", "headtohead", "sharding",
                                           "release", "scale", "cleanup"],
                        help="run one group of workloads (implies --no-write, except for "
                             "sql_edition and headtohead, which write their own sections of "
                             "BENCHMARKS.md)")
    args = parser.parse_args()
    own_sections = ("sql_edition", "headtohead", "sharding")
    if args.only and args.only not in own_sections:
        args.no_write = True
    if args.quick:
        args.sessions, args.rounds, args.seconds = 100_000, 1, 3
        args.pairs, args.pair_seconds = 2, 2
        args.scale = (10_000, 100_000)
        args.cleanup_sessions, args.cleanup_pauses = 100_000, ["0"]
        args.shared_buffers = "1GB"
        args.h2h_rounds, args.h2h_seconds = 1, 2
        args.shard_sessions = 20_000
    else:
        args.sessions, args.rounds, args.seconds = 1_000_000, 5, 8
        args.pairs, args.pair_seconds = 12, 4
        args.scale = (100_000, 10_000_000)
        args.cleanup_sessions, args.cleanup_pauses = 1_000_000, ["0", "20ms", "50ms"]
        args.shared_buffers = "6GB"
        args.h2h_rounds, args.h2h_seconds = 5, 8
        args.shard_sessions = 200_000
    if args.pairs_override:
        args.pairs = args.pairs_override

    cluster = Cluster(args.port)
    log(f"starting the benchmark cluster on port {args.port}")
    cluster.start(args.shared_buffers)
    results = Results()
    try:
        groups = {"main": main_workloads, "sql_edition": sql_edition_workloads,
                  "headtohead": lambda c, a, r: headtohead.run(c, a, r, SOCKET_DIR),
                  "sharding": lambda c, a, r: sharding.run(a, r),
                  "release": release_comparison,
                  "scale": scale_workloads, "cleanup": cleanup_workload}
        for name, run in groups.items():
            if args.only in (None, name):
                run(cluster, args, results)
    finally:
        cluster.stop()
    if args.only:
        for name, values in results.tps.items():
            print(f"{name}: median {statistics.median(values):.3f}, "
                  f"spread {min(values):.3f}-{max(values):.3f}, {len(values)} values")
    if args.only in (None, "sql_edition"):
        sql_table = report_sql_edition(args, results)
        print(sql_table)
        if not args.no_write:
            write_benchmarks_md(sql_table, "bench-sql-edition")
            log("wrote the SQL edition's section of BENCHMARKS.md")
    if args.only in (None, "headtohead"):
        h2h_table = headtohead.report(args, results, machine(),
                                      datetime.date.today().isoformat())
        print(h2h_table)
        if not args.no_write:
            write_benchmarks_md(h2h_table, "bench-headtohead")
            log("wrote the head-to-head's section of BENCHMARKS.md")
    if args.only in (None, "sharding"):
        shard_table = sharding.report(args, results, machine(),
                                      datetime.date.today().isoformat())
        print(shard_table)
        if not args.no_write:
            write_benchmarks_md(shard_table, "bench-sharding")
            log("wrote the sharding section of BENCHMARKS.md")
    if args.only:
        return
    table = report(args, results)
    print(table)
    if not args.no_write:
        write_benchmarks_md(table)
        log("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
