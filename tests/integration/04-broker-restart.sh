#!/bin/bash
# What the broker keeps across a restart of fieldmqd (in SQLite):
# retained messages, persistent sessions with their subscriptions, and
# the QoS 1/2 messages queued for them while they were offline.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_sub >/dev/null || fail "mosquitto-clients is needed"
port=$(free_port)
broker_config "$port" >"$TMP/fieldmq.yaml"
start_fieldmqd "$TMP/fieldmq.yaml"
H=(-h 127.0.0.1 -p "$port")

mosquitto_pub "${H[@]}" -r -q 1 -t site/state -m online
mosquitto_pub "${H[@]}" -r -q 0 -t site/gone -m x
mosquitto_pub "${H[@]}" -r -q 0 -t site/gone -n
# A persistent session subscribes, goes away; messages arrive for it.
mosquitto_sub "${H[@]}" -i durable -c -q 2 -t 'alarms/#' -E ||
	fail "persistent subscribe"
for i in 1 2 3; do
	mosquitto_pub "${H[@]}" -q 1 -t alarms/boiler -m "a$i"
done
mosquitto_pub "${H[@]}" -q 0 -t alarms/boiler -m "qos0-not-kept"
stop_fieldmqd
ok "fieldmqd stops with a retained message and a session holding 3 messages"

sqlite3 "$TMP/fieldmq.db" 'PRAGMA integrity_check' | grep -qx ok ||
	fail "the database is not consistent"
[ "$(sqlite3 "$TMP/fieldmq.db" 'SELECT count(*) FROM retained')" = 1 ] ||
	fail "retained rows: $(sqlite3 "$TMP/fieldmq.db" 'SELECT topic FROM retained')"
[ "$(sqlite3 "$TMP/fieldmq.db" "SELECT count(*) FROM session_messages WHERE client_id = 'durable'")" = 3 ] ||
	fail "the session's messages are not in the database"
ok "the database holds them (integrity_check ok)"

start_fieldmqd "$TMP/fieldmq.yaml"
wait_for_match "$TMP/fieldmqd.log" "restored 1 retained messages and 1 persistent sessions"
mosquitto_sub "${H[@]}" -t 'site/#' -C 1 -W 5 -F '%r %t %p' >"$TMP/ret.out" ||
	fail "the retained message did not survive the restart"
[ "$(cat "$TMP/ret.out")" = "1 site/state online" ] || fail "retained: $(cat "$TMP/ret.out")"
ok "retained messages survive a restart"

mosquitto_sub "${H[@]}" -i durable -c -q 2 -t 'alarms/#' -C 3 -W 5 >"$TMP/durable.out" ||
	fail "the queued messages did not survive the restart"
printf 'a1\na2\na3\n' | diff -u - "$TMP/durable.out" || fail "queued messages differ"
# The subscription survived too: a new message reaches the session. (The
# client above may close before its last PUBACKs are read: those messages
# come again with DUP, as QoS 1 allows.)
mosquitto_sub "${H[@]}" -i durable -c -q 2 -t 'nothing' -W 5 >"$TMP/durable2.out" &
sub=$!
track $sub
wait_for_match "$TMP/fieldmqd.log" "client durable connected .*session resumed"
mosquitto_pub "${H[@]}" -q 1 -t alarms/pump -m after-restart
wait_for_match "$TMP/durable2.out" "^after-restart$" 5
kill $sub
wait_exit $sub 5
ok "a persistent session, its subscription and its queued messages survive a restart"

# A clean session ends the persistent one, in the database too.
mosquitto_sub "${H[@]}" -i durable -t x -C 1 -W 1 >/dev/null 2>&1 || true
stop_fieldmqd
[ "$(sqlite3 "$TMP/fieldmq.db" "SELECT count(*) FROM sessions")" = 0 ] ||
	fail "a clean connection did not end the stored session"
ok "a clean-session connection removes the stored session"
done_testing
