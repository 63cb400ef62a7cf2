#!/bin/bash
# Malformed input costs only the connection that sent it, with one log
# line; the broker keeps serving everyone else.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_sub >/dev/null || fail "mosquitto-clients is needed"
port=$(free_port)
broker_config "$port" "" >"$TMP/fieldmq.yaml"
sed -i 's/^  sys_interval: 1s$/  sys_interval: 1s\n  max_packet_size: 64KiB/' "$TMP/fieldmq.yaml"
start_fieldmqd "$TMP/fieldmq.yaml"
H=(-h 127.0.0.1 -p "$port")

# A healthy subscriber that must see everything through the abuse.
mosquitto_sub "${H[@]}" -i healthy -t 'ok/#' -v >"$TMP/healthy.out" &
track $!
await_subscriber "$port" "$TMP/healthy.out" ok/probe

CONNECT='\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01x'
# send NAME BYTES EXPECTED-LOG: sends raw bytes, waits for the close line.
send() {
	local name=$1 bytes=$2 want=$3
	exec 3<>/dev/tcp/127.0.0.1/"$port"
	printf "$bytes" >&3
	wait_for_match "$TMP/fieldmqd.log" "$want" 5
	exec 3>&- 3<&-
	mosquitto_pub "${H[@]}" -t "ok/${name//[^a-zA-Z0-9]/-}" -m alive || fail "publish after $name"
	ok "$name: the connection is closed, others unaffected"
}

send "packet before CONNECT" '\x82\x06\x00\x01\x00\x01a\x00' \
	"closed: SUBSCRIBE before CONNECT"
send "second CONNECT" "$CONNECT$CONNECT" \
	"client x .*disconnected: second CONNECT"
send "reserved flag bits" "$CONNECT\x41\x02\x00\x01" \
	"disconnected: malformed acknowledgement|disconnected: malformed packet"
send "wildcard in a PUBLISH topic" "$CONNECT\x30\x05\x00\x03a/#" \
	"disconnected: protocol error in PUBLISH"
send "invalid UTF-8 in a topic" "$CONNECT\x30\x05\x00\x03a\xc3\x28" \
	"disconnected: malformed PUBLISH"
send "U+0000 in a topic" "$CONNECT\x30\x05\x00\x03a\x00b" \
	"disconnected: malformed PUBLISH"
send "256 MB length prefix" "$CONNECT\x30\xff\xff\xff\x7f" \
	"disconnected: packet larger than 65536 bytes"
send "5-byte remaining length" "$CONNECT\x30\x80\x80\x80\x80\x01" \
	"disconnected: malformed packet header"
send "unsupported protocol level" '\x10\x0d\x00\x04MQTT\x07\x02\x00\x3c\x00\x01y' \
	"closed: unsupported protocol version"
send "empty client id without clean session" '\x10\x0c\x00\x04MQTT\x04\x00\x00\x3c\x00\x00' \
	"closed: empty client id without clean session"

wait_for_match "$TMP/healthy.out" "^ok/empty-client-id-without-clean-session alive$"
[ "$(grep -vc ' probe$' "$TMP/healthy.out")" = 10 ] ||
	fail "the healthy subscriber missed messages: $(cat "$TMP/healthy.out")"
ok "a healthy subscriber received every message meanwhile"

# A truncated packet, then silence: the connect timeout closes it.
sed -i 's/^    - { port: \([0-9]*\) }$/    - { port: \1, connect_timeout: 1s }/' "$TMP/fieldmq.yaml"
stop_fieldmqd
start_fieldmqd "$TMP/fieldmq.yaml"
exec 3<>/dev/tcp/127.0.0.1/"$port"
printf '\x10\x0d\x00\x04MQ' >&3
wait_for_match "$TMP/fieldmqd.log" "closed: no CONNECT in time" 5
exec 3>&- 3<&-
ok "a truncated CONNECT is dropped after the connect timeout"

# One byte a second: still served by the broker, the others unaffected.
exec 3<>/dev/tcp/127.0.0.1/"$port"
bytes=(10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 7a)
for b in "${bytes[@]:0:4}"; do printf "\\x$b" >&3; sleep 0.2; done
mosquitto_pub "${H[@]}" -t ok/trickle -m alive -q 1 || fail "the broker stalled"
exec 3>&- 3<&-
ok "a client trickling bytes does not stall the broker"

alive "$FIELDMQD_PID" || fail "fieldmqd died"
stop_fieldmqd
done_testing
