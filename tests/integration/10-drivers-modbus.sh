#!/bin/bash
# Field drivers against the simulator: Modbus TCP polling published on the
# broker with the right topics and payloads, one offline state message and
# recovery, a merged read split after "illegal data address", and Modbus
# RTU through a socat pty pair with two devices on one line.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_sub >/dev/null || fail "mosquitto-clients is needed"
command -v socat >/dev/null || fail "socat is needed"
port=$(free_port)
simport=$(free_port)

cat >"$TMP/sim.yaml" <<'YAML'
unit_id: [1, 2]
registers:
  - { table: holding, address: 100, type: float32, order: CDAB, value: 21.5 }
  - { table: holding, address: 102, type: int32, order: DCBA, value: -123456 }
  - { table: input, address: 10, type: uint16, value: 153 }
  - { table: holding, address: 300, type: string, length: 4, value: "M-01" }
  - { table: coil, address: 0, value: true }
  - { table: holding, address: 498, type: uint16, value: 7 }
  - { table: holding, address: 501, type: uint16, value: 9 }
exceptions:
  - { table: holding, address: 500, code: 2 }
YAML
"$FIELDMQ" sim -t 127.0.0.1:"$simport" -f "$TMP/sim.yaml" >"$TMP/sim.log" 2>&1 &
sim=$!
track $sim
wait_for_match "$TMP/sim.log" "sim: listening on"

cat >"$TMP/fieldmq.yaml" <<YAML
store: { path: $TMP/fieldmq.db }
broker:
  listeners: [ { port: $port } ]
devices:
  - name: meter
    driver: modbus-tcp
    host: 127.0.0.1
    port: $simport
    poll: 200ms
    timeout: 300ms
    topic: site/{device}
    tags:
      - { name: temp, address: 100, type: float32, word_order: CDAB }
      - { name: energy, address: 102, type: int32, word_order: DCBA }
      - { name: pressure, table: input, address: 10, scale: 0.01 }
      - { name: label, address: 300, type: string, length: 4, publish: change, retain: true }
      - { name: pump, table: coil, address: 0 }
      - { name: low, address: 498 }
      - { name: high, address: 501 }
YAML
start_fieldmqd "$TMP/fieldmq.yaml"
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'site/#' -v >"$TMP/sub.out" &
track $!
wait_for_match "$TMP/sub.out" '^site/meter/high '
for want in \
	'^site/meter/\$state \{"state":"online","ts":[0-9]+\}$' \
	'^site/meter/temp \{"value":21.5,"ts":[0-9]+,"quality":"good"\}$' \
	'^site/meter/energy \{"value":-123456,"ts":[0-9]+,"quality":"good"\}$' \
	'^site/meter/pressure \{"value":1.53,"ts":[0-9]+,"quality":"good"\}$' \
	'^site/meter/label \{"value":"M-01","ts":[0-9]+,"quality":"good"\}$' \
	'^site/meter/pump \{"value":true,"ts":[0-9]+,"quality":"good"\}$' \
	'^site/meter/low \{"value":7,' '^site/meter/high \{"value":9,'; do
	grep -qE "$want" "$TMP/sub.out" || fail "no line matching $want in: $(head -20 "$TMP/sub.out")"
done
ok "Modbus TCP readings arrive on the broker with topics and JSON payloads"

mosquitto_sub -h 127.0.0.1 -p "$port" -t '$SYS/fieldmq/devices/meter' -C 1 -W 5 >"$TMP/stats" ||
	fail "no device counters in \$SYS"
grep -qE '^\{"online":true,"requests":[1-9][0-9]*,"timeouts":0,"exceptions":[0-9]+,"connection_errors":0,"other_errors":0,"last_success":[0-9]{13},"last_error":"[^"]*","rtt_avg_ms":[0-9.]+,"rtt_max_ms":[0-9.]+\}$' "$TMP/stats" ||
	fail "device counters: $(cat "$TMP/stats")"
ok "per-device counters on \$SYS/fieldmq/devices/<name>"

grep -q "modbus\[meter\]: read 498+4: illegal data address: splitting the request" "$TMP/fieldmqd.log" ||
	fail "the planner did not split the block across the exception"
ok "a merged read answered 'illegal data address' is split, both halves read"

# publish: change: a constant value is published once, others every poll.
sleep 1
[ "$(grep -c '^site/meter/label ' "$TMP/sub.out")" = 1 ] ||
	fail "an unchanged 'publish: change' tag was published again"
[ "$(grep -c '^site/meter/temp ' "$TMP/sub.out")" -ge 4 ] ||
	fail "an 'always' tag was not published every poll"
ok "publish: change publishes a constant once; always publishes every poll"

# One poll, one time stamp.
ts=$(grep '^site/meter/temp ' "$TMP/sub.out" | head -1 | sed 's/.*"ts":\([0-9]*\).*/\1/')
grep "\"ts\":$ts," "$TMP/sub.out" | grep -q '^site/meter/pump ' ||
	fail "readings of one poll have different time stamps"
ok "readings of one poll share one time stamp"

# The device goes away: one offline message, tags bad, one log line.
kill -USR2 $sim
wait_for_match "$TMP/sim.log" "sim: offline"
wait_for_match "$TMP/sub.out" '^site/meter/\$state \{"state":"offline","reason":'
wait_for_match "$TMP/sub.out" '^site/meter/temp \{"value":null,"ts":[0-9]+,"quality":"bad"\}$'
sleep 3
[ "$(grep -c '"state":"offline"' "$TMP/sub.out")" = 1 ] ||
	fail "offline was published more than once"
[ "$(grep -c 'modbus\[meter\]: offline' "$TMP/fieldmqd.log")" = 1 ] ||
	fail "the log repeats the offline state: $(grep 'modbus\[meter\]' "$TMP/fieldmqd.log")"
ok "an unreachable device publishes offline once, its tags turn bad, one log line"

kill -USR2 $sim
wait_for_match "$TMP/sim.log" "sim: online"
wait_for_match "$TMP/fieldmqd.log" "modbus\[meter\]: online again" 10
wait_for_match "$TMP/sub.out" '^site/meter/\$state \{"state":"online","ts":[0-9]+\}$'
ok "the device comes back online by itself (backoff, then reconnect)"
stop_fieldmqd
kill $sim
wait_exit $sim 5

# RTU: two unit ids on one serial line, through a pty pair.
socat -d -d pty,raw,echo=0 pty,raw,echo=0 2>"$TMP/socat.log" &
track $!
wait_for_match "$TMP/socat.log" "PTY is .*" 5
for _ in $(seq 50); do
	[ "$(grep -c 'PTY is' "$TMP/socat.log")" -ge 2 ] && break
	sleep 0.1
done
pty1=$(sed -n 's/.*PTY is \(.*\)/\1/p' "$TMP/socat.log" | sed -n 1p)
pty2=$(sed -n 's/.*PTY is \(.*\)/\1/p' "$TMP/socat.log" | sed -n 2p)
"$FIELDMQ" sim -r "$pty1:19200" -f "$TMP/sim.yaml" >"$TMP/simrtu.log" 2>&1 &
track $!
wait_for_match "$TMP/simrtu.log" "sim: serving rtu"
cat >"$TMP/rtu.yaml" <<YAML
store: { path: $TMP/fieldmq.db }
broker:
  listeners: [ { port: $port } ]
devices:
  - { name: rtu1, driver: modbus-rtu, serial: $pty2, baud: 19200, unit_id: 1, poll: 300ms,
      tags: [ { name: temp, address: 100, type: float32, word_order: CDAB } ] }
  - { name: rtu2, driver: modbus-rtu, serial: $pty2, baud: 19200, unit_id: 2, poll: 300ms,
      tags: [ { name: energy, address: 102, type: int32, word_order: DCBA } ] }
YAML
start_fieldmqd "$TMP/rtu.yaml"
grep -q "polling 2 devices on 1 line" "$TMP/fieldmqd.log" || fail "two RTU devices did not share one line"
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'plant/+/+' -v >"$TMP/rtu.out" &
track $!
wait_for_match "$TMP/rtu.out" '^plant/rtu1/temp \{"value":21.5,'
wait_for_match "$TMP/rtu.out" '^plant/rtu2/energy \{"value":-123456,'
ok "Modbus RTU through a pty pair: two devices on one line"
stop_fieldmqd
done_testing
