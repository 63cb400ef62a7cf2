#!/bin/bash
# The broker with the Eclipse Paho C client library: QoS 0/1/2 exactly
# once and in order, and a persistent session across a reconnect.
. "${top_srcdir:-.}/tests/integration/lib.sh"

port=$(free_port)
broker_config "$port" >"$TMP/fieldmq.yaml"
start_fieldmqd "$TMP/fieldmq.yaml"
"$top_builddir/tests/tools/paho_check" "127.0.0.1:$port" >"$TMP/paho.out" 2>&1 ||
	fail "paho_check: $(cat "$TMP/paho.out")"
grep -q "all arrived once, in order" "$TMP/paho.out" || fail "$(cat "$TMP/paho.out")"
ok "Paho C: QoS 0, 1 and 2 messages arrive once, in order"
grep -q "session present 1" "$TMP/paho.out" || fail "$(cat "$TMP/paho.out")"
ok "Paho C: a persistent session keeps its messages across a reconnect"
stop_fieldmqd
done_testing
