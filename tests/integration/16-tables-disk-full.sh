#!/bin/bash
# A full disk under the database: commits fail and are retried with
# backoff, the broker keeps serving, QoS 0 rows wait in the store's queue,
# a QoS 1 publisher waits for its PUBACK, and once there is room again
# every one of them is written. The database
# lives on a small tmpfs; without the right to mount one (not root, or a
# container without CAP_SYS_ADMIN) the test is skipped.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_pub >/dev/null || fail "mosquitto-clients is needed"
command -v sqlite3 >/dev/null || fail "sqlite3 is needed"
SMALL=$TMP/small
mkdir "$SMALL"
if ! mount -t tmpfs -o size=4m fieldmq-test "$SMALL" 2>/dev/null; then
	echo "# SKIP: cannot mount a tmpfs here (needs root)"
	exit 77
fi
trap 'cleanup_mount' EXIT
cleanup_mount() {
	for p in $PIDS; do
		{ kill -9 "$p" && wait "$p"; } 2>/dev/null || true
	done
	umount "$SMALL" 2>/dev/null || umount -l "$SMALL" 2>/dev/null || true
	cleanup
}

port=$(free_port)
H=(-h 127.0.0.1 -p "$port")
DB=$SMALL/fieldmq.db
q() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$1"
}

cat >"$TMP/fieldmq.yaml" <<YAML
log_level: info
store: { path: $DB }
broker:
  listeners: [ { port: $port } ]
tables:
  - name: blobs
    topic: data/#
    columns: { n: "\$.n", body: "\$.pad" }
YAML
start_fieldmqd "$TMP/fieldmq.yaml"
mosquitto_pub "${H[@]}" -q 1 -t data/first -m '{"n": 0, "pad": ""}'
i=0
until [ "$(q 'SELECT count(*) FROM blobs' 2>/dev/null)" = 1 ]; do
	[ "$i" -lt 100 ] || fail "the first row never arrived"
	sleep 0.1
	i=$((i + 1))
done

# Fill the disk, then send about 1.5 MB of rows.
dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null || true
pad=$(head -c 1000 /dev/zero | tr '\0' x)
seq 1 1500 | sed "s/.*/{\"n\": &, \"pad\": \"$pad\"}/" >"$TMP/rows"
mosquitto_pub "${H[@]}" -q 0 -t data/x -l <"$TMP/rows"
wait_for_match "$TMP/fieldmqd.log" "commit failed: .*disk is full: retrying"
mosquitto_pub "${H[@]}" -q 1 -t data/y -m '{"n": 1501, "pad": ""}' &
waiter=$!
track "$waiter"
sleep 1
alive "$waiter" || fail "a QoS 1 publisher got its PUBACK while the disk was full"
ok "a full disk: the commit fails with a clear error and is retried; a QoS 1 publisher waits for its PUBACK"

mosquitto_sub "${H[@]}" -t live -C 1 -W 5 >"$TMP/live" &
live=$!
sleep 0.3
mosquitto_pub "${H[@]}" -t live -m still-here
wait_exit "$live" 6
[ "$(cat "$TMP/live")" = still-here ] || fail "the broker stopped serving on a full disk"
alive "$FIELDMQD_PID" || fail "fieldmqd died on a full disk"
ok "the broker keeps serving while the disk is full"

rm -f "$SMALL/filler"
i=0
until [ "$(q 'SELECT count(*) FROM blobs' 2>/dev/null)" = 1502 ]; do
	[ "$i" -lt 300 ] || fail "rows after the disk had room again: $(q 'SELECT count(*) FROM blobs')"
	sleep 0.1
	i=$((i + 1))
done
wait_for_match "$TMP/fieldmqd.log" "commits work again"
[ "$(q 'SELECT count(DISTINCT n), max(n) FROM blobs')" = "1502|1501" ] ||
	fail "rows: $(q 'SELECT count(DISTINCT n), max(n) FROM blobs')"
wait_exit "$waiter" 10
[ "$RC" = 0 ] || fail "the QoS 1 publisher failed: $RC"
ok "once there is room, all 1501 rows that waited are written and the QoS 1 publisher gets its PUBACK"

stop_fieldmqd
[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
ok "the database passes integrity_check"
done_testing
