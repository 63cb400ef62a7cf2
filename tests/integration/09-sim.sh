#!/bin/bash
# The Modbus simulator alone, seen by pymodbus: typed values in their byte
# order, strings, counters, writes, exception codes, silence and going
# offline by signal, bad descriptions, a port in use, and RTU with two
# unit ids on one line through a socat pty pair.
. "${top_srcdir:-.}/tests/integration/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import pymodbus.client, serial' 2>/dev/null ||
	fail "python3-pymodbus and python3-serial are needed (apt-get install python3-pymodbus python3-serial)"
command -v socat >/dev/null || fail "socat is needed (apt-get install socat)"

# mb.py tcp PORT|rtu DEVICE COMMAND ARGS: one Modbus conversation; prints
# the answer, or "exception N", "timeout" or "refused". UNIT picks the unit.
cat >"$TMP/mb.py" <<'PY'
import os, struct, sys, time
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException
from pymodbus.framer.rtu_framer import ModbusRtuFramer

UNIT = int(os.environ.get("UNIT", "1"))
# Byte j of the registers holds byte j ^ mask of the value (drivers/value.h).
MASK = {"ABCD": 0, "BADC": 1, "CDAB": 2, "DCBA": 3}

class Answer(Exception):
    pass

def regs(c, addr, n, table="holding"):
    read = c.read_input_registers if table == "input" else c.read_holding_registers
    r = read(addr, n, slave=UNIT)
    if r.isError():
        code = getattr(r, "exception_code", None)
        raise Answer(f"exception {code}" if code else "timeout")
    return r.registers

def value(c, addr, order, fmt):
    b = b"".join(struct.pack(">H", r) for r in regs(c, int(addr), 2))
    return struct.unpack(fmt, bytes(b[i ^ MASK[order]] for i in range(4)))[0]

def counter(c, addr):
    first = regs(c, int(addr), 1)[0]
    end = time.time() + 5
    while time.time() < end:
        now = regs(c, int(addr), 1)[0]
        if now != first:
            return f"{first} {now}"
        time.sleep(0.05)
    return f"{first} {first}"

def write(c, addr, v):
    r = c.write_register(int(addr), int(v), slave=UNIT)
    if r.isError():
        raise Answer(f"exception {getattr(r, 'exception_code', '?')}")
    return "ok"

def coil(c, addr):
    r = c.read_coils(int(addr), 1, slave=UNIT)
    if r.isError():
        raise Answer("timeout")
    return int(r.bits[0])

COMMANDS = {
    "float32": lambda c, a, o: f"{value(c, a, o, '>f'):g}",
    "int32": lambda c, a, o: value(c, a, o, ">i"),
    "uint16": lambda c, a: regs(c, int(a), 1)[0],
    "string": lambda c, a, n: b"".join(struct.pack(">H", r)
        for r in regs(c, int(a), int(n))).rstrip(b"\0").decode(),
    "counter": counter,
    "write": write,
    "coil": coil,
}

kind, where, cmd, *args = sys.argv[1:]
if kind == "tcp":
    c = ModbusTcpClient("127.0.0.1", port=int(where), timeout=1, retries=0)
else:
    c = ModbusSerialClient(where, framer=ModbusRtuFramer, baudrate=9600,
        timeout=1, retries=0)
try:
    print(COMMANDS[cmd](c, *args) if c.connect() else "refused")
except Answer as e:
    print(e)
except ConnectionException:
    print("refused")
finally:
    c.close()
PY

# expect ANSWER ARGS...: runs mb.py with ARGS and compares what it prints.
expect() {
	local want=$1 got
	shift
	got=$("$PY" "$TMP/mb.py" "$@" 2>>"$TMP/mb.err") || fail "mb.py $* failed"
	[ "$got" = "$want" ] || fail "mb.py $*: expected '$want', got '$got'"
}

cat >"$TMP/desc.yaml" <<'YAML'
unit_id: 1
registers:
  - { table: holding, address: 100, type: float32, order: CDAB, value: 21.5 }
  - { table: holding, address: 0, type: uint16, counter: { step: 1, every: 100ms } }
  - { table: input, address: 10, type: int16, sine: { min: 0, max: 100, period: 10s } }
  - { table: holding, address: 300, type: string, length: 8, value: "METER-01" }
  - { table: coil, address: 0, value: true }
  - { table: holding, address: 400, type: int32, order: DCBA, value: -123456 }
  - { table: holding, address: 200, type: int16, sine: { min: 0, max: 900, period: 1s } }
exceptions:
  - { table: holding, address: 500, code: 2 }
YAML

port=$(free_port)
"$FIELDMQ" sim -t "127.0.0.1:$port" -f "$TMP/desc.yaml" -v >"$TMP/sim.log" 2>&1 &
sim=$!
track $sim
wait_for_match "$TMP/sim.log" "^sim: listening on 127\.0\.0\.1:$port$"
ok "the simulator says it listens on its port"

expect 21.5 tcp "$port" float32 100 CDAB
expect -123456 tcp "$port" int32 400 DCBA
expect METER-01 tcp "$port" string 300 8
expect 1 tcp "$port" coil 0
ok "float32 CDAB, int32 DCBA, a string and a coil read as described"

set -- $("$PY" "$TMP/mb.py" tcp "$port" counter 0 2>>"$TMP/mb.err")
[ $# = 2 ] && [ "$2" -gt "$1" ] || fail "the counter did not increase: $*"
ok "a counter increases between two reads ($1, then $2)"

expect ok tcp "$port" write 200 750
expect 750 tcp "$port" uint16 200
expect 750 tcp "$port" uint16 200
wait_for_match "$TMP/sim.log" "sim: write holding 200 = 750$"
ok "a written register keeps its value (no longer a sine) and the write is logged"

expect "exception 2" tcp "$port" uint16 500
expect 0 tcp "$port" uint16 501
ok "a configured address answers exception 2; its neighbour reads 0"

kill -USR1 $sim
wait_for_match "$TMP/sim.log" "^sim: silent$"
expect timeout tcp "$port" float32 100 CDAB
kill -USR1 $sim
wait_for_match "$TMP/sim.log" "^sim: answering$"
expect 21.5 tcp "$port" float32 100 CDAB
ok "SIGUSR1 silences the simulator and a second SIGUSR1 brings answers back"

kill -USR2 $sim
wait_for_match "$TMP/sim.log" "^sim: offline$"
expect refused tcp "$port" float32 100 CDAB
kill -USR2 $sim
wait_for_match "$TMP/sim.log" "^sim: online$"
expect 21.5 tcp "$port" float32 100 CDAB
ok "SIGUSR2 closes the port and a second SIGUSR2 opens it again"

rc=0
timeout 10 "$FIELDMQ" sim -t "127.0.0.1:$port" -f "$TMP/desc.yaml" \
	>"$TMP/busy.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a port in use: exit status $rc"
grep -q "^sim: cannot listen on 127\.0\.0\.1:$port: Address already in use$" \
	"$TMP/busy.out" || fail "a port in use: $(cat "$TMP/busy.out")"
ok "a port in use is an error with exit status 1"

kill -TERM $sim
wait_exit $sim 10
[ "$RC" = 0 ] || fail "the simulator exited with status $RC after SIGTERM"
ok "SIGTERM stops the simulator with status 0"

# Bad descriptions: FILE:LINE:COL and exit status 1.
bad() {
	local want=$1 rc=0
	printf '%b' "$2" >"$TMP/bad.yaml"
	timeout 10 "$FIELDMQ" sim -t "127.0.0.1:$(free_port)" -f "$TMP/bad.yaml" \
		>"$TMP/bad.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "bad description '$2': exit status $rc"
	grep -qF "sim: $TMP/bad.yaml:$want" "$TMP/bad.out" ||
		fail "bad description '$2': $(cat "$TMP/bad.out")"
}
bad "2:39: 40000 is out of range for int16" \
	"registers:\n  - { address: 1, type: int16, value: 40000 }\n"
bad "2:14: unknown table 'holdin'" "registers:\n  - { table: holdin, address: 1 }\n"
bad "2:5: unknown key 'adress' in a register (did you mean 'address'?)" \
	"registers:\n  - adress: 1\n"
bad "1:10: unit_id must be an integer in 1..247" "unit_id: 300\n"
bad "2:5: code is missing" "exceptions:\n  - { address: 5 }\n"
bad "2:1: did not find expected ',' or ']'" "unit_id: [1\n"
ok "bad descriptions are reported as FILE:LINE:COL with status 1"

# RTU through a pty pair, two unit ids on one line.
socat -d -d pty,raw,echo=0 pty,raw,echo=0 2>"$TMP/socat.err" &
track $!
wait_for_match "$TMP/socat.err" "starting data transfer loop"
set -- $(sed -n 's/.*PTY is \(.*\)$/\1/p' "$TMP/socat.err")
[ $# = 2 ] || fail "socat's ptys: $*"
sed 's/^unit_id: 1$/unit_id: [1, 2]/' "$TMP/desc.yaml" >"$TMP/rtu.yaml"
"$FIELDMQ" sim -r "$1" -f "$TMP/rtu.yaml" -v >"$TMP/rtu.log" 2>&1 &
rtu=$!
track $rtu
wait_for_match "$TMP/rtu.log" "^sim: serving rtu on $1$"
expect 21.5 rtu "$2" float32 100 CDAB
UNIT=2 expect METER-01 rtu "$2" string 300 8
UNIT=3 expect timeout rtu "$2" uint16 0
expect 21.5 rtu "$2" float32 100 CDAB
ok "RTU: units 1 and 2 answer on one line, unit 3 is silent"

UNIT=2 expect ok rtu "$2" write 200 42
UNIT=2 expect 42 rtu "$2" uint16 200
wait_for_match "$TMP/rtu.log" "sim: unit 2: write holding 200 = 42$"
ok "RTU: a write to unit 2 is stored and logged"

kill -TERM $rtu
wait_exit $rtu 10
[ "$RC" = 0 ] || fail "the RTU simulator exited with status $RC"
ok "the RTU simulator stops with status 0"

done_testing
