#!/usr/bin/env bash
# Moves one partition of a varel_session PL/Proxy cluster to another node, under load, losing
# no acknowledged write (SCALING.md, "Adding a node"):
#
#   sharding/move_partition.sh PARTITION SOURCE TARGET ROUTER [ROUTER...]
#
# PARTITION: its number (p<N> of the router's cluster `varel_session`). SOURCE and TARGET:
# libpq connection strings of the node that has it and of the new node (extension and
# sharding/node.sql installed, same route bits), as a superuser; TARGET's is also what the
# routers will use (it must reach TARGET from the routers, as the role of their user mapping)
# and SOURCE's what TARGET's subscription uses. ROUTER: connection strings of every router
# database, as a superuser.
#
# Steps: copy the partition's rows to TARGET with logical replication (a publication on SOURCE
# filtered to the partition's route bits, a subscription on TARGET), wait until the copy is
# done; fence: point every router's partition at nothing (its calls fail with XX000 for the
# moment of the switch, the documented error), and wait on each router until every transaction
# that began before its change has ended (a router backend reads the new definition at its
# next transaction, so one inside a transaction may still call SOURCE until then); then wait
# for SOURCE's transactions that began before that, and until TARGET has applied SOURCE's WAL up
# to that point; end the subscription; point the routers at TARGET; delete the partition's rows
# from SOURCE. If a step fails before the routers point at TARGET, they are pointed back at
# SOURCE and the copy is dropped. Every wait gives up after VAREL_MOVE_TIMEOUT seconds (300).
set -euo pipefail
if (($# < 4)); then
    sed -n '2,12p' "$0" >&2
    exit 2
fi
partition=$1 source=$2 target=$3
shift 3
routers=("$@")
name=varel_move_p$partition
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

partitions=$(q "${routers[0]}" "SELECT varel_session_router.partitions()")
mask=$((partitions - 1))
if ! [[ $partition =~ ^[0-9]+$ ]] || ((partition >= partitions)); then
    echo "partition must be a number below the router's $partitions" >&2
    exit 2
fi
timeout=${VAREL_MOVE_TIMEOUT:-300}
# wait_until SQL-URL SQL: until the query returns t, at most $timeout seconds.
wait_until() {
    local deadline=$((SECONDS + timeout))
    until [[ $(q "$1" "SELECT ($2)") == t ]]; do
        if ((SECONDS > deadline)); then
            echo "gave up waiting for: $2" >&2
            return 1
        fi
        sleep 0.1
    done
}
filter="(get_byte(token_hash, 3) & $mask) = $partition"
if ((mask > 255)); then
    filter="(((get_byte(token_hash, 2) << 8) | get_byte(token_hash, 3)) & $mask) = $partition"
fi

echo "copying partition $partition of $partitions to the target" >&2
q "$source" "CREATE PUBLICATION $name FOR TABLE varel_session.sessions WHERE ($filter)"
q "$target" "CREATE SUBSCRIPTION $name CONNECTION '${source//\'/\'\'}' PUBLICATION $name"
# Until the routers point at TARGET, a failure puts everything back as it was.
declare -A previous
for router in "${routers[@]}"; do
    previous[$router]=$(q "$router" "SELECT option_value FROM pg_options_to_table((SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'varel_session')) WHERE option_name = 'p$partition'")
done
undo() {
    echo "failed: pointing the routers back at the source, dropping the copy" >&2
    for router in "${routers[@]}"; do
        q "$router" "ALTER SERVER varel_session OPTIONS (SET p$partition '${previous[$router]//\'/\'\'}')" || true
    done
    q "$target" "DROP SUBSCRIPTION IF EXISTS $name" || true
    q "$target" "DELETE FROM varel_session.sessions WHERE $filter" || true
    q "$source" "DROP PUBLICATION IF EXISTS $name" || true
}
trap undo ERR

wait_until "$target" "NOT EXISTS (SELECT FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = '$name' AND r.srsubstate <> 'r')"

echo "switching: partition $partition's calls fail (XX000) until the target takes over" >&2
for router in "${routers[@]}"; do
    changed_at=$(q "$router" "SELECT clock_timestamp()")
    q "$router" "ALTER SERVER varel_session OPTIONS (SET p$partition 'host=127.0.0.1 port=1 connect_timeout=1')"
    wait_until "$router" "NOT EXISTS (SELECT FROM pg_stat_activity WHERE xact_start < '$changed_at' AND pid <> pg_backend_pid() AND backend_type = 'client backend')"
done
# No router sends the partition's calls to SOURCE any more: wait for SOURCE's transactions
# that began before now, then for TARGET to have applied everything up to here.
fenced_at=$(q "$source" "SELECT clock_timestamp()")
wait_until "$source" "NOT EXISTS (SELECT FROM pg_stat_activity WHERE xact_start < '$fenced_at' AND pid <> pg_backend_pid() AND backend_type = 'client backend')"
lsn=$(q "$source" "SELECT pg_current_wal_lsn()")
wait_until "$source" "(SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots WHERE slot_name = '$name')"
q "$target" "DROP SUBSCRIPTION $name"
for router in "${routers[@]}"; do
    q "$router" "ALTER SERVER varel_session OPTIONS (SET p$partition '${target//\'/\'\'}')"
done
trap - ERR
q "$source" "DROP PUBLICATION $name"
moved=$(q "$source" "WITH gone AS (DELETE FROM varel_session.sessions WHERE $filter RETURNING 1) SELECT count(*) FROM gone")
echo "partition $partition moved; $moved rows deleted from the source" >&2
