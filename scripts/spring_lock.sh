#!/usr/bin/env bash
# adapters/spring/dependencies.lock: every artifact the Spring modules resolve (test scope
# included), one "module: group:artifact:type:version:scope" line each, sorted. Spring Boot's
# parent pins the versions; the lock makes a change of them visible in review.
#   scripts/spring_lock.sh check   fails when the build resolves anything else (the adapters tier)
#   scripts/spring_lock.sh write   records what it resolves now
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-check}
lock=$root/adapters/spring/dependencies.lock
modules=(varel-session-spring example)
mvn -B -q -Dmaven.repo.local="$root/target/m2" -f "$root/adapters/spring/pom.xml" \
    -DskipTests package dependency:list -DoutputFile=target/dependencies.txt >/dev/null
resolved=$(for module in "${modules[@]}"; do
    sed -n 's/^ *\([^ :]*:[^ :]*:[^ ]*\).*$/\1/p' "$root/adapters/spring/$module/target/dependencies.txt" \
        | sed "s|^|$module: |"
done | LC_ALL=C sort)
case $mode in
    write) printf '%s\n' "$resolved" >"$lock"; echo "wrote $lock ($(wc -l <"$lock") artifacts)" ;;
    check)
        if ! diff -u "$lock" <(printf '%s\n' "$resolved"); then
            echo "adapters/spring resolves other versions than dependencies.lock (scripts/spring_lock.sh write)" >&2
            exit 1
        fi ;;
    *) echo "usage: $0 check|write" >&2; exit 2 ;;
esac
