#!/bin/bash
# The broker with real clients (mosquitto_pub / mosquitto_sub): QoS 0, 1
# and 2 both ways, wildcards, retained messages, wills, persistent
# sessions, takeover, keepalive expiry and $SYS.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_sub >/dev/null || fail "mosquitto-clients is needed"
port=$(free_port)
broker_config "$port" >"$TMP/fieldmq.yaml"
start_fieldmqd "$TMP/fieldmq.yaml"
wait_for_match "$TMP/fieldmqd.log" "broker\[127.0.0.1:$port\]: listening"
H=(-h 127.0.0.1 -p "$port")

# QoS 0, 1 and 2 through a wildcard subscription, in order.
mosquitto_sub "${H[@]}" -i sub1 -q 2 -t 'plant/#' -v -W 10 >"$TMP/sub1.out" &
sub=$!
track $sub
await_subscriber "$port" "$TMP/sub1.out" plant/probe
for q in 0 1 2; do
	mosquitto_pub "${H[@]}" -q $q -t "plant/boiler/t$q" -m "v$q" ||
		fail "mosquitto_pub at QoS $q failed"
done
wait_for_match "$TMP/sub1.out" "^plant/boiler/t2 v2$"
kill $sub
wait_exit $sub 10
grep -v ' probe$' "$TMP/sub1.out" >"$TMP/sub1.msgs"
printf 'plant/boiler/t0 v0\nplant/boiler/t1 v1\nplant/boiler/t2 v2\n' |
	diff -u - "$TMP/sub1.msgs" || fail "messages differ"
ok "QoS 0, 1 and 2 publishes reach a wildcard subscriber in order"

# Retained: set, replace, delivered with the retain flag, deleted.
mosquitto_pub "${H[@]}" -r -q 1 -t plant/x/setpoint -m first
mosquitto_pub "${H[@]}" -r -q 1 -t plant/x/setpoint -m second
mosquitto_sub "${H[@]}" -t 'plant/+/setpoint' -C 1 -W 5 -F '%r %t %p' >"$TMP/ret.out" ||
	fail "no retained message"
[ "$(cat "$TMP/ret.out")" = "1 plant/x/setpoint second" ] ||
	fail "retained: got '$(cat "$TMP/ret.out")'"
mosquitto_pub "${H[@]}" -r -q 1 -t plant/x/setpoint -n
rc=0
mosquitto_sub "${H[@]}" -t 'plant/+/setpoint' -C 1 -W 1 >"$TMP/ret2.out" 2>/dev/null || rc=$?
[ "$rc" = 27 ] && [ ! -s "$TMP/ret2.out" ] || fail "a deleted retained message came back (rc $rc)"
ok "retained messages are set, replaced, sent with the retain flag and deleted"

# $-topics are not matched by '#'; $SYS is published.
mosquitto_sub "${H[@]}" -t '$SYS/broker/clients/connected' -C 1 -W 5 >"$TMP/sys.out" ||
	fail "no \$SYS message"
grep -qE '^[0-9]+$' "$TMP/sys.out" || fail "\$SYS value: $(cat "$TMP/sys.out")"
rc=0
mosquitto_sub "${H[@]}" -t '#' -C 1 -W 2 -F '%t' >"$TMP/all.out" 2>/dev/null || rc=$?
! grep -q '^\$SYS' "$TMP/all.out" || fail "'#' matched a \$SYS topic"
ok "\$SYS statistics are published and '#' does not match them"

# Will: sent when a client dies, not after DISCONNECT.
mosquitto_sub "${H[@]}" -t 'wills/#' -v -W 20 >"$TMP/wills.out" &
wsub=$!
track $wsub
await_subscriber "$port" "$TMP/wills.out" wills/probe
mosquitto_sub "${H[@]}" -i dying -t nothing --will-topic wills/dying --will-payload gone -k 60 &
dying=$!
track $dying
mosquitto_sub "${H[@]}" -i polite -t nothing --will-topic wills/polite --will-payload rude -C 1 -W 1 >/dev/null 2>&1 &
polite=$!
wait_for_match "$TMP/fieldmqd.log" "client dying connected"
{ kill -9 $dying && wait $dying; } 2>/dev/null || true
wait_for_match "$TMP/wills.out" "^wills/dying gone$"
wait_exit $polite 5
sleep 0.5
! grep -q polite "$TMP/wills.out" || fail "a will was sent after DISCONNECT"
ok "a will is published when a client dies, not after DISCONNECT"

# Persistent session: QoS 1 messages wait while the client is away.
mosquitto_sub "${H[@]}" -i keeper -c -q 1 -t 'queue/#' -C 1 -W 5 -E >/dev/null ||
	fail "persistent subscribe"
for i in 1 2 3 4 5; do
	mosquitto_pub "${H[@]}" -q 1 -t queue/a -m "m$i"
done
mosquitto_sub "${H[@]}" -i keeper -c -q 1 -t 'queue/#' -C 5 -W 5 >"$TMP/keeper.out" ||
	fail "the queued messages did not arrive"
printf 'm1\nm2\nm3\nm4\nm5\n' | diff -u - "$TMP/keeper.out" || fail "queued messages differ"
wait_for_match "$TMP/fieldmqd.log" "client keeper connected .*session resumed"
ok "a persistent session keeps QoS 1 messages while the client is offline"

# Takeover: a second connection with the same id closes the first.
mosquitto_sub "${H[@]}" -i twin -t a -W 10 >/dev/null 2>&1 &
twin1=$!
track $twin1
wait_for_match "$TMP/fieldmqd.log" "client twin connected"
mosquitto_sub "${H[@]}" -i twin -t a -C 1 -W 1 >/dev/null 2>&1 || true
wait_for_match "$TMP/fieldmqd.log" "client twin .*disconnected: taken over"
ok "a second connection with the same client id takes over"

# Keepalive: a client silent for 1.5 x its keepalive is disconnected, will sent.
exec 3<>/dev/tcp/127.0.0.1/"$port"
# CONNECT: "MQTT" 4, flags will+clean (0x06), keepalive 1 s, id "silent",
# will topic "wills/silent", payload "timeout".
printf '\x10\x29\x00\x04MQTT\x04\x06\x00\x01\x00\x06silent\x00\x0cwills/silent\x00\x07timeout' >&3
wait_for_match "$TMP/fieldmqd.log" "client silent connected"
wait_for_match "$TMP/fieldmqd.log" "client silent .*disconnected: keepalive timeout" 5
wait_for_match "$TMP/wills.out" "^wills/silent timeout$"
exec 3>&-
ok "keepalive expiry disconnects a silent client and sends its will"

alive "$FIELDMQD_PID" || fail "fieldmqd died"
stop_fieldmqd
ok "fieldmqd stops cleanly"
done_testing
