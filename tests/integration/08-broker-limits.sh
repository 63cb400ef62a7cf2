#!/bin/bash
# Connection limits and refusals: CONNACK 3 past max_connections, 5 for
# anonymous clients where they are not allowed, 4 for a login with no
# users; max_keepalive enforced; features this version lacks refused.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_sub >/dev/null || fail "mosquitto-clients is needed"
port=$(free_port)
closed=$(free_port)
cat >"$TMP/fieldmq.yaml" <<YAML
store: { path: $TMP/fieldmq.db }
broker:
  max_keepalive: 1s
  listeners:
    - { port: $port, max_connections: 2 }
    - { port: $closed, allow_anonymous: false }
YAML
start_fieldmqd "$TMP/fieldmq.yaml"

mosquitto_sub -h 127.0.0.1 -p "$port" -i one -t a -W 10 >/dev/null 2>&1 &
one=$!
track $one
mosquitto_sub -h 127.0.0.1 -p "$port" -i two -t a -W 10 >/dev/null 2>&1 &
two=$!
track $two
wait_for_match "$TMP/fieldmqd.log" "client one connected"
wait_for_match "$TMP/fieldmqd.log" "client two connected"
rc=0
mosquitto_pub -h 127.0.0.1 -p "$port" -t a -m x 2>"$TMP/err3" || rc=$?
[ "$rc" != 0 ] && grep -qi "unavailable" "$TMP/err3" ||
	fail "a third connection was not refused with CONNACK 3: $(cat "$TMP/err3")"
ok "past max_connections, CONNECT gets CONNACK 3 (server unavailable)"

rc=0
mosquitto_pub -h 127.0.0.1 -p "$closed" -t a -m x 2>"$TMP/err5" || rc=$?
[ "$rc" != 0 ] && grep -qi "not authori" "$TMP/err5" ||
	fail "an anonymous client was not refused with CONNACK 5: $(cat "$TMP/err5")"
rc=0
mosquitto_pub -h 127.0.0.1 -p "$closed" -u someone -P secret -t a -m x 2>"$TMP/err4" || rc=$?
[ "$rc" != 0 ] && grep -qi "bad user name or password" "$TMP/err4" ||
	fail "a login without users was not refused with CONNACK 4: $(cat "$TMP/err4")"
ok "allow_anonymous: false refuses anonymous clients (5) and unknown logins (4)"

# keepalive 0 asks for none; max_keepalive 1s makes it 1 s (closed after 1.5 s).
kill $one $two
wait_exit $one 5
wait_exit $two 5
wait_for_match "$TMP/fieldmqd.log" "client two .*disconnected" 5
exec 3<>/dev/tcp/127.0.0.1/"$port"
printf '\x10\x0f\x00\x04MQTT\x04\x02\x00\x00\x00\x03ka0' >&3
wait_for_match "$TMP/fieldmqd.log" "client ka0 connected .*keepalive 0s"
wait_for_match "$TMP/fieldmqd.log" "client ka0 .*disconnected: keepalive timeout" 5
exec 3>&-
ok "max_keepalive applies to a client that asks for no keepalive"
stop_fieldmqd

done_testing
