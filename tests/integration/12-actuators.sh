#!/bin/bash
# Actuators: a command topic writes a device tag with the tag's encoding;
# the result (and the value read back) comes on "<topic>/result"; a value
# out of range, a tag that is not writable, or a payload that is not a
# value is refused with the reason.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_sub >/dev/null || fail "mosquitto-clients is needed"
port=$(free_port)
simport=$(free_port)
cat >"$TMP/sim.yaml" <<'YAML'
registers:
  - { table: holding, address: 100, type: float32, order: CDAB, value: 21.5 }
  - { table: holding, address: 200, type: int16, value: 450 }
  - { table: holding, address: 210, type: float32, order: CDAB, value: 1.5 }
  - { table: coil, address: 0, value: false }
YAML
"$FIELDMQ" sim -v -t 127.0.0.1:"$simport" -f "$TMP/sim.yaml" >"$TMP/sim.log" 2>&1 &
track $!
wait_for_match "$TMP/sim.log" "sim: listening on"
cat >"$TMP/fieldmq.yaml" <<YAML
store: { path: $TMP/fieldmq.db }
broker:
  listeners: [ { port: $port } ]
devices:
  - name: boiler
    driver: modbus-tcp
    host: 127.0.0.1
    port: $simport
    poll: 200ms
    tags:
      - { name: temperature, address: 100, type: float32, word_order: CDAB }
      - { name: setpoint, address: 200, type: int16, writable: true, min: 0, max: 900 }
      - { name: flow, address: 210, type: float32, word_order: CDAB, writable: true, scale: 0.1 }
      - { name: pump, table: coil, address: 0, writable: true }
actuators:
  - { topic: "cmd/+/+/set", device: "topic[1]", tag: "topic[2]", readback: true, min_interval: 0 }
YAML
start_fieldmqd "$TMP/fieldmq.yaml"
wait_for_match "$TMP/fieldmqd.log" "modbus\[boiler\]: online"
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'cmd/#' -v >"$TMP/results.out" &
track $!
await_subscriber "$port" "$TMP/results.out" cmd/probe
P() { mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t "$1" -m "$2"; }

P cmd/boiler/setpoint/set 750
wait_for_match "$TMP/results.out" '^cmd/boiler/setpoint/set/result \{"ok":true,"device":"boiler","tag":"setpoint","value":750,"readback":750,"ts":[0-9]+\}$'
wait_for_match "$TMP/sim.log" "sim: write holding 200 = 750"
ok "a command writes the register; the result carries the value read back"

P cmd/boiler/flow/set '{"value": 2.5}'
wait_for_match "$TMP/results.out" '^cmd/boiler/flow/set/result \{"ok":true,.*"value":2.5,"readback":2.5,'
ok "{\"value\": ...} payloads, float32 in CDAB order with scale: written as read"

P cmd/boiler/pump/set true
wait_for_match "$TMP/results.out" '^cmd/boiler/pump/set/result \{"ok":true,.*"readback":true,'
wait_for_match "$TMP/sim.log" "sim: write coil 0 = 1"
ok "a coil is written with FC 05"

P cmd/boiler/setpoint/set 1000
wait_for_match "$TMP/results.out" '^cmd/boiler/setpoint/set/result \{"ok":false,.*"error":"1000 is outside setpoint.s range \[0, 900\]"'
P cmd/boiler/temperature/set 30
wait_for_match "$TMP/results.out" '"error":"tag temperature of boiler is not writable"'
P cmd/boiler/setpoint/set abc
wait_for_match "$TMP/results.out" '^cmd/boiler/setpoint/set/result \{"ok":false,.*"error":"'
P cmd/nosuch/x/set 1
wait_for_match "$TMP/results.out" '"error":"no device is called \\"nosuch\\""'
! grep -q "sim: write holding 200 = 1000" "$TMP/sim.log" || fail "an out-of-range value was written"
ok "out of range, not writable, not a value, unknown device: refused with the reason"
stop_fieldmqd
done_testing
