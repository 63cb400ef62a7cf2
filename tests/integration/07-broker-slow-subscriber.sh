#!/bin/bash
# A subscriber that stops reading: its queue stays within the configured
# limits (the rest is dropped and counted), the broker's memory stays
# bounded, and a healthy subscriber of the same topics misses nothing.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_pub >/dev/null || fail "mosquitto-clients is needed"
port=$(free_port)
broker_config "$port" "" >"$TMP/fieldmq.yaml"
sed -i 's/^  sys_interval: 1s$/  sys_interval: 1s\n  max_queued_messages: 2000\n  max_queued_bytes: 2MiB/' "$TMP/fieldmq.yaml"
# Memory is measured: in a sanitizer build, ASan's quarantine of freed
# memory would count too, so it is turned off (no effect otherwise).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
start_fieldmqd "$TMP/fieldmq.yaml"
H=(-h 127.0.0.1 -p "$port")
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$FIELDMQD_PID/status"; }

mosquitto_sub "${H[@]}" -i healthy -q 0 -t 'flood/#' -v >"$TMP/healthy.out" &
track $!
await_subscriber "$port" "$TMP/healthy.out" flood/probe

# The stalled client: CONNECT, SUBSCRIBE flood/# at QoS 1, then never reads.
exec 3<>/dev/tcp/127.0.0.1/"$port"
printf '\x10\x11\x00\x04MQTT\x04\x02\x00\x3c\x00\x05stall' >&3
printf '\x82\x0c\x00\x01\x00\x07flood/#\x01' >&3
wait_for_match "$TMP/fieldmqd.log" "client stall connected"
before=$(rss)

# 20,000 messages of 1 KiB at QoS 1: 20 MiB, far more than the limits.
payload=$(head -c 1024 /dev/zero | tr '\0' x)
for i in $(seq 20000); do echo "$payload"; done >"$TMP/lines"
mosquitto_pub "${H[@]}" -q 1 -t flood/data -l <"$TMP/lines" || fail "the publisher failed"
wait_for_match "$TMP/fieldmqd.log" "broker\[stall\]: queue full \(2000 messages"
after=$(rss)

# The healthy subscriber gets all 20,000.
for _ in $(seq 100); do
	[ "$(grep -c '^flood/data ' "$TMP/healthy.out")" -ge 20000 ] && break
	sleep 0.1
done
got=$(grep -c '^flood/data ' "$TMP/healthy.out")
[ "$got" = 20000 ] || fail "the healthy subscriber got $got of 20000"
! grep -q 'broker\[healthy\]: queue full' "$TMP/fieldmqd.log" ||
	fail "the healthy subscriber's queue overflowed"
ok "a healthy subscriber gets every message while another one stalls"

growth=$(( (after - before) / 1024 ))
echo "# RSS before $before KiB, after $after KiB"
[ "$growth" -lt 24 ] || fail "the broker grew by $growth MiB for a stalled client"
ok "the broker's memory stays bounded (grew ${growth} MiB for 20 MiB published)"

# The retained value first, then the next ones (every sys_interval, 1 s).
mosquitto_sub "${H[@]}" -t '$SYS/broker/messages/dropped' -C 3 -W 5 >"$TMP/sys" ||
	fail "no \$SYS dropped count"
tail -n 1 "$TMP/sys" >"$TMP/dropped"
[ "$(cat "$TMP/dropped")" -gt 0 ] || fail "no drop counted: $(cat "$TMP/sys")"
ok "the drops are counted (\$SYS/broker/messages/dropped = $(cat "$TMP/dropped"))"
exec 3>&- 3<&-
stop_fieldmqd
done_testing
