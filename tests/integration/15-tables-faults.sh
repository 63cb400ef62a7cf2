#!/bin/bash
# The rule engine when things go wrong: kill -9 in the middle of a write
# burst leaves a consistent database that the next start uses, holding
# every QoS 1 message that was acknowledged; a database locked by another
# process delays rows (retried with backoff, the broker serving all
# along) but loses none, and QoS 1 publishers get their PUBACK only once
# their row is written; a damaged file is refused and left alone.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_pub >/dev/null || fail "mosquitto-clients is needed"
command -v sqlite3 >/dev/null || fail "sqlite3 is needed"
port=$(free_port)
H=(-h 127.0.0.1 -p "$port")
DB=$TMP/fieldmq.db

q() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$1"
}

wait_rows() {
	local i=0 got=""
	while [ "$i" -lt "${3:-100}" ]; do
		got=$(q "$1" 2>/dev/null || true)
		[ "$got" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "$1: got '$got', want '$2'"
}

cat >"$TMP/fieldmq.yaml" <<YAML
log_level: info
store: { path: $DB, busy_timeout: 300ms, queue_rows: 10000 }
broker:
  listeners: [ { port: $port } ]
tables:
  - name: readings
    topic: plant/#
    columns: { device: "topic[1]", value: "\$.value", at: received_at }
YAML

seq 1 50000 | sed 's/.*/{"value": &}/' >"$TMP/burst"
start_fieldmqd "$TMP/fieldmq.yaml"
mosquitto_pub "${H[@]}" -q 0 -t plant/burst -l <"$TMP/burst" &
pub=$!
track "$pub"
# Kill in the middle: once some rows are committed, well before the end.
i=0
until [ "$(q 'SELECT count(*) FROM readings' 2>/dev/null || echo 0)" -gt 1000 ]; do
	[ "$i" -lt 200 ] || fail "no rows from the burst"
	sleep 0.05
	i=$((i + 1))
done
kill -9 "$FIELDMQD_PID"
wait_exit "$FIELDMQD_PID" 5
kill "$pub" 2>/dev/null || true
wait_exit "$pub" 10
n=$(q 'SELECT count(*) FROM readings')
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after kill -9"
[ "$n" -lt 50000 ] || fail "the burst ended before the kill: nothing was tested"
# Rows are committed in order, whole batches: 1..n with no holes.
[ "$(q 'SELECT min(value), max(value), count(DISTINCT value) FROM readings')" = "1|$n|$n" ] ||
	fail "rows after kill -9: $(q 'SELECT min(value), max(value), count(*) FROM readings')"
ok "kill -9 during a burst of 50000 messages: $n rows, in order, no holes, integrity_check ok"

start_fieldmqd "$TMP/fieldmq.yaml"
mosquitto_pub "${H[@]}" -q 1 -t plant/after -m '{"value": -1}'
[ "$(q "SELECT count(*) FROM readings WHERE device = 'after'")" = 1 ] ||
	fail "a QoS 1 publish was acknowledged before its row was written"
ok "the next start uses the database; a QoS 1 PUBACK means the row is written"

# One QoS 1 publish after another, each acknowledged; kill -9 at some point.
(
	for i in $(seq 1 100000); do
		mosquitto_pub "${H[@]}" -q 1 -t plant/acked -m "{\"value\": $i}" 2>/dev/null || break
		echo "$i" >"$TMP/acked"
	done
) &
loop=$!
track "$loop"
i=0
until [ "$(cat "$TMP/acked" 2>/dev/null || echo 0)" -gt 200 ]; do
	[ "$i" -lt 300 ] || fail "the QoS 1 publishes do not get through"
	sleep 0.05
	i=$((i + 1))
done
kill -9 "$FIELDMQD_PID"
wait_exit "$FIELDMQD_PID" 5
wait_exit "$loop" 20
acked=$(cat "$TMP/acked")
[ "$(q "SELECT count(DISTINCT value) FROM readings WHERE device = 'acked' AND value <= $acked")" = "$acked" ] ||
	fail "acknowledged $acked, in the database: $(q "SELECT count(*) FROM readings WHERE device = 'acked'")"
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
ok "kill -9 during QoS 1 publishing: all $acked acknowledged messages are rows"
start_fieldmqd "$TMP/fieldmq.yaml"

# A QoS 0 burst far larger than the store's queue: the publisher is slowed
# down (not read while the queue is over half full), nothing is dropped.
mosquitto_pub "${H[@]}" -q 0 -t plant/flood -l <"$TMP/burst" ||
	fail "the QoS 0 burst failed"
wait_rows "SELECT count(*) FROM readings WHERE device = 'flood'" 50000 200
[ "$(q "SELECT count(DISTINCT value) FROM readings WHERE device = 'flood'")" = 50000 ] ||
	fail "the burst's rows are not all different"
! grep -q "not written" "$TMP/fieldmqd.log" || fail "rows were dropped: $(grep 'not written' "$TMP/fieldmqd.log")"
ok "a QoS 0 burst of 50000 messages into a queue of 10000 rows: the publisher is slowed down, all 50000 rows are written"

# Another process holds the write lock for 3 s (longer than busy_timeout).
sqlite3 "$DB" >/dev/null <<'SQL' &
BEGIN EXCLUSIVE;
.shell sleep 3
COMMIT;
SQL
locker=$!
track "$locker"
sleep 0.5
for i in $(seq 1 20); do
	mosquitto_pub "${H[@]}" -q 0 -t plant/locked -m "{\"value\": $i}"
done
mosquitto_pub "${H[@]}" -q 1 -t plant/locked -m '{"value": 21}' &
waiter=$!
track "$waiter"
wait_for_match "$TMP/fieldmqd.log" "commit failed: .*database is locked: retrying"
mosquitto_sub "${H[@]}" -t 'plant/#' -C 1 -W 5 -E >/dev/null ||
	fail "the broker does not serve while the database is locked"
mosquitto_sub "${H[@]}" -t plant/live -C 1 -W 5 >"$TMP/live" &
live=$!
sleep 0.3
mosquitto_pub "${H[@]}" -t plant/live -m '{"value": 0}'
wait_exit "$live" 6
[ "$(cat "$TMP/live")" = '{"value": 0}' ] || fail "no live delivery while locked"
alive "$waiter" || fail "a QoS 1 publisher got its PUBACK while the row could not be written"
alive "$locker" || fail "the lock ended before the checks: nothing was tested"
ok "a database locked by another process: commits fail and are retried; the broker delivers meanwhile; a QoS 1 publisher waits for its PUBACK"
wait_exit "$locker" 10
wait_exit "$waiter" 10
[ "$RC" = 0 ] || fail "the QoS 1 publisher failed after the lock: $RC"
wait_rows "SELECT count(*) FROM readings WHERE device = 'locked'" 21 100
wait_for_match "$TMP/fieldmqd.log" "commits work again"
ok "once the lock is gone, every row that waited is written"
stop_fieldmqd
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"

# A damaged file is named as such and left as it is.
head -c 4096 "$DB" >"$TMP/damaged.db"
head -c 20000 /dev/urandom >>"$TMP/damaged.db"
dd if=/dev/urandom of="$TMP/damaged.db" bs=1 seek=100 count=200 conv=notrunc 2>/dev/null
sum=$(md5sum <"$TMP/damaged.db")
sed "s|$DB|$TMP/damaged.db|" "$TMP/fieldmq.yaml" >"$TMP/damaged.yaml"
"$FIELDMQD" -c "$TMP/damaged.yaml" 2>"$TMP/damaged.log" && fail "fieldmqd started on a damaged database"
grep -q "damaged.db: not a usable SQLite database (.*): fieldmqd leaves it as it is; move it aside, or recover" \
	"$TMP/damaged.log" || fail "the error does not say what: $(cat "$TMP/damaged.log")"
[ "$(md5sum <"$TMP/damaged.db")" = "$sum" ] || fail "the damaged file was changed"
ok "a damaged database file: fieldmqd says so, how to recover, and does not touch it"
done_testing
