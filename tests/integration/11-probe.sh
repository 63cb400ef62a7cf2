#!/bin/bash
# `fieldmq probe` against the simulator: the raw block, every type in
# every order (float32 CDAB and int32 DCBA found in their cells, absurd
# floats hidden), the block as text, Modicon addresses and coils, the
# terminal form; and the failures: a refused connection, an exception and
# a timeout exit 1 with one clear line, bad usage exits 2.
. "${top_srcdir:-.}/tests/integration/lib.sh"

cat >"$TMP/desc.yaml" <<'YAML'
unit_id: 1
registers:
  - { table: holding, address: 100, type: float32, order: CDAB, value: 21.5 }
  - { table: holding, address: 102, type: int32, order: DCBA, value: -123456 }
  - { table: holding, address: 104, type: string, length: 2, value: "M-01" }
  - { table: coil, address: 1, value: true }
exceptions:
  - { table: holding, address: 500, code: 2 }
YAML

port=$(free_port)
"$FIELDMQ" sim -t "127.0.0.1:$port" -f "$TMP/desc.yaml" >"$TMP/sim.log" 2>&1 &
sim=$!
track $sim
wait_for_match "$TMP/sim.log" "^sim: listening on 127\.0\.0\.1:$port$"

# probe ARGS...: runs the probe; stdout in probe.out, stderr in probe.err,
# the exit status in RC.
probe() {
	RC=0
	timeout 10 "$FIELDMQ" probe "$@" >"$TMP/probe.out" 2>"$TMP/probe.err" ||
		RC=$?
}

# cell TYPE ADDRESS ORDER: a cell of the decoded table, its column found
# by name in the header.
cell() {
	awk -F'\t' -v type="$1" -v addr="$2" -v order="$3" '
		$1 == "type" { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == type && $2 == addr && (order in col) { print $col[order] }
	' "$TMP/probe.out"
}

# expect_cell TYPE ADDRESS ORDER VALUE
expect_cell() {
	local got
	got=$(cell "$1" "$2" "$3")
	[ "$got" = "$4" ] ||
		fail "$1 $3 at $2: expected '$4', got '$got' in: $(cat "$TMP/probe.out")"
}

# expect_line LINE: probe.out has exactly this line (\t for tabs).
expect_line() {
	grep -qxF -- "$(printf '%b' "$1")" "$TMP/probe.out" ||
		fail "no line '$1' in: $(cat "$TMP/probe.out") $(cat "$TMP/probe.err")"
}

# expect_error STATUS MESSAGE: the probe failed with STATUS, said MESSAGE
# on its first line of stderr and printed nothing on stdout.
expect_error() {
	[ "$RC" = "$1" ] || fail "expected status $1, got $RC: $(cat "$TMP/probe.err")"
	[ "$(head -n 1 "$TMP/probe.err")" = "$2" ] ||
		fail "expected '$2', got: $(cat "$TMP/probe.err")"
	[ ! -s "$TMP/probe.out" ] || fail "output after an error: $(cat "$TMP/probe.out")"
}

probe -t "127.0.0.1:$port" 100 6
[ "$RC" = 0 ] || fail "probe 100 6: status $RC: $(cat "$TMP/probe.err")"
expect_line "# tcp 127.0.0.1:$port unit 1: holding 100..105 (6 registers)"
expect_line 'address\thex\tdec\tascii'
expect_line '100\t0x0000\t0\t..'
expect_line '101\t0x41ac\t16812\tA.'
expect_line '104\t0x4d2d\t19757\tM-'
ok "the raw registers: address, hex, decimal and ASCII"

expect_line 'type\taddress\tABCD\tBADC\tCDAB\tDCBA'
expect_cell float32 100 CDAB 21.5
expect_cell int32 102 DCBA -123456
expect_cell uint16 101 ABCD 16812
expect_cell int16 101 BADC -21439
ok "float32 CDAB 21.5 at 100 and int32 DCBA -123456 at 102 are in their cells"

expect_cell float32 100 ABCD -
expect_cell float32 102 CDAB -
expect_cell int32 100 ABCD 16812
ok "subnormal and huge floats are shown as '-', integers always"

[ "$(awk -F'\t' '$1 == "float32"' "$TMP/probe.out" | wc -l)" = 5 ] ||
	fail "float32 rows: $(cat "$TMP/probe.out")"
[ "$(awk -F'\t' '$1 == "uint64"' "$TMP/probe.out" | wc -l)" = 3 ] ||
	fail "uint64 rows: $(cat "$TMP/probe.out")"
[ -z "$(cell float64 103 ABCD)" ] || fail "a float64 at 103 does not fit in 100+6"
ok "one row per start address where the type fits"

expect_line 'order\ttext'
expect_line 'ABCD\t..A.....M-01'
expect_line 'BADC\t...A....-M10'
ok "the block as text in ABCD and BADC"

probe -t "127.0.0.1:$port" --modicon 40101 6
[ "$RC" = 0 ] || fail "--modicon 40101: status $RC: $(cat "$TMP/probe.err")"
expect_line "# tcp 127.0.0.1:$port unit 1: holding 40101..40106 (6 registers, 0-based 100)"
expect_cell float32 40101 CDAB 21.5
expect_cell int32 40103 DCBA -123456
ok "--modicon: 40101 reads holding 100 and the rows are numbered as given"

probe -t "127.0.0.1:$port" --table coil 0 3
[ "$RC" = 0 ] || fail "--table coil: status $RC: $(cat "$TMP/probe.err")"
expect_line 'address\tvalue'
expect_line '0\t0'
expect_line '1\t1'
ok "--table coil reads bits"

if command -v script >/dev/null; then
	script -qec "\"$FIELDMQ\" probe -t 127.0.0.1:$port 100 6" /dev/null \
		>"$TMP/tty.out" 2>&1 || fail "probe on a terminal: $(cat "$TMP/tty.out")"
	grep -q $'\033\\[1mtype' "$TMP/tty.out" || fail "no bold header on a terminal"
	NO_COLOR=1 script -qec "\"$FIELDMQ\" probe -t 127.0.0.1:$port 100 6" \
		/dev/null >"$TMP/tty.out" 2>&1 || fail "NO_COLOR probe failed"
	! grep -q $'\033' "$TMP/tty.out" || fail "colour despite NO_COLOR"
	! grep -q $'\t' "$TMP/tty.out" || fail "tabs on a terminal"
	grep -qE '^float32 +100 +- +- +21\.5 ' "$TMP/tty.out" ||
		fail "no aligned float32 row on a terminal: $(cat "$TMP/tty.out")"
	ok "on a terminal: aligned, bold headers, no colour under NO_COLOR"
fi

dead=$(free_port)
probe -t "127.0.0.1:$dead" 100
expect_error 1 "probe: tcp 127.0.0.1:$dead: connect: Connection refused"
ok "a refused connection: status 1 and one clear line"

probe -t "127.0.0.1:$port" 500 2
expect_error 1 "probe: tcp 127.0.0.1:$port: read holding 500+2: exception 2 (illegal data address)"
ok "an exception: status 1, the address and the exception named"

kill -USR1 $sim
wait_for_match "$TMP/sim.log" "^sim: silent$"
probe -t "127.0.0.1:$port" --timeout 300ms 100
expect_error 1 "probe: tcp 127.0.0.1:$port: read holding 100+8: timed out after 300 ms"
kill -USR1 $sim
wait_for_match "$TMP/sim.log" "^sim: answering$"
ok "a silent device: status 1 after --timeout"

# usage MESSAGE ARGS...: bad usage gives status 2, MESSAGE and the hint.
usage() {
	local want=$1
	shift
	probe "$@"
	expect_error 2 "probe: $want"
	grep -qxF "'fieldmq probe --help' describes the options." "$TMP/probe.err" ||
		fail "no --help hint after bad usage: $(cat "$TMP/probe.err")"
}
usage "ADDRESS is missing" -t "127.0.0.1:$port"
usage "no device: give -t HOST[:PORT] or -r DEVICE" 100
usage "-t and -r name two devices; give one" -t "127.0.0.1:$port" -r /dev/null 100
usage "COUNT wants 1..125, not '126'" -t "127.0.0.1:$port" 100 126
usage "ADDRESS wants 0..65535, not '65536'" -t "127.0.0.1:$port" 65536
usage "65535+2 goes past address 65535" -t "127.0.0.1:$port" 65535 2
usage "--table wants holding, input, coil or discrete, not 'coils'" \
	-t "127.0.0.1:$port" --table coils 1
usage "40101 is a holding address, not input" -t "127.0.0.1:$port" \
	--table input --modicon 40101
usage "--timeout wants a duration up to 60s such as 500ms or 2s, not 'soon'" \
	-t "127.0.0.1:$port" --timeout soon 100
usage "-u wants 1..247 on a serial line, not 0" -r /dev/null -u 0 100
usage "unrecognized option '--bogus'" -t "127.0.0.1:$port" --bogus 100
usage "unexpected argument '3'" -t "127.0.0.1:$port" 1 2 3
ok "bad usage: status 2, the reason and a pointer to --help"

probe --help
[ "$RC" = 0 ] || fail "--help: status $RC"
grep -q "^usage: fieldmq probe " "$TMP/probe.out" ||
	fail "--help: $(cat "$TMP/probe.out")"
ok "--help prints the usage with status 0"

done_testing
