#!/bin/bash
# Field-driver benchmark: one Modbus TCP device of TAGS uint16 holding
# registers served by `fieldmq sim`, read
#   - by a raw libmodbus loop (tests/bench/modbusbench raw), the ceiling:
#     planned blocks (max_gap 10, 125 registers) and one request per tag;
#   - by fieldmqd (poll: 0, so it polls without pause; payload json,
#     QoS 0, publish: always), counted by a subscriber on 'plant/#'
#     (modbusbench count): poll -> decode -> broker -> subscriber, with
#     the device's plan (max_registers 125) and with one request per tag
#     (max_registers 1, max_gap 0).
# It prints the requests per poll cycle (planned vs per-tag, for this
# layout and a sparse one), cycle times, tags/s and the ratio fieldmqd/raw,
# medians of RUNS runs, the runs alternating raw and fieldmqd (ABAB) so
# both see the same machine state. Figures are printed, never judged.
#
#   tests/bench/drivers.sh [BUILDDIR]      (default ./build)
#
# Environment:
#   TAGS=1000         registers (and tags) of the device
#   RUNS=3            runs per measurement (the median is reported)
#   RUN_SECONDS=3     length of each measured run
#   WARMUP=1          seconds a subscriber counts nothing, from its first message
#   FIELDMQD, FIELDMQ paths of the daemon and the CLI (default BUILDDIR/...)
#   MODBUSBENCH=path  default BUILDDIR/tests/bench/modbusbench, compiled
#                     there from tests/bench/modbusbench.c if absent or older
#   AWAKE=raw         a nice-19 spinner on every CPU during the raw runs, so
#                     that idle vCPUs do not halt between requests: on a VM a
#                     wake-up on a halted CPU costs tens of µs and then
#                     dominates loopback Modbus (the raw loop alone on idle
#                     CPUs runs 2-3x slower than on busy ones, and fieldmqd,
#                     whose own threads keep the CPUs awake, would beat its
#                     "ceiling"). AWAKE=0: no spinners; AWAKE=all (or 1):
#                     spinners throughout (they compete with fieldmqd's threads)
#   KEEP_TMP=1        keep the temporary directory (configs, logs, raw lines)
set -eu

BUILD=${1:-./build}
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
FIELDMQD=${FIELDMQD:-$BUILD/fieldmqd}
FIELDMQ=${FIELDMQ:-$BUILD/fieldmq}
MODBUSBENCH=${MODBUSBENCH:-$BUILD/tests/bench/modbusbench}
TAGS=${TAGS:-1000}
RUNS=${RUNS:-3}
RUN_SECONDS=${RUN_SECONDS:-3}
WARMUP=${WARMUP:-1}
AWAKE=${AWAKE:-raw}
GAP=10
HZ=$(getconf CLK_TCK)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fieldmq-bench.XXXXXX")
PIDS=""
SPIN=""
RAW=$TMP/raw.txt	# "measurement run key=value ..." per run
: >"$RAW"

cleanup() {
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		{ timeout 5 tail --pid="$p" -f /dev/null || kill -9 "$p"; } \
		    2>/dev/null || true
	done
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "drivers.sh: $*" >&2
	exit 1
}

note() {
	echo "# $*" >&2
}

# ---- tools ---------------------------------------------------------------

# build_modbusbench: compiles modbusbench into BUILD if it is absent or
# older than its source (until the Makefile does it).
build_modbusbench() {
	local src=$SRCDIR/tests/bench/modbusbench.c g=$SRCDIR/gateway
	local mb_cflags mb_libs

	[ -x "$MODBUSBENCH" ] && [ ! "$src" -nt "$MODBUSBENCH" ] && return 0
	mb_cflags=$(pkg-config --cflags libmodbus 2>/dev/null || echo -I/usr/include/modbus)
	mb_libs=$(pkg-config --libs libmodbus 2>/dev/null || echo -lmodbus)
	mkdir -p "$(dirname "$MODBUSBENCH")" "$TMP/inc"
	echo '#define _GNU_SOURCE 1' >"$TMP/inc/config.h"
	note "compiling $MODBUSBENCH"
	# shellcheck disable=SC2086
	gcc -O2 -std=gnu11 -Wall -Wextra -I"$TMP/inc" -I"$SRCDIR" -I"$g" \
	    $mb_cflags "$src" "$SRCDIR/drivers/plan.c" \
	    "$SRCDIR/drivers/value.c" "$g/broker/packet.c" "$g/buf.c" \
	    "$g/util.c" "$g/log.c" $mb_libs -lm -o "$MODBUSBENCH" ||
		die "cannot compile modbusbench"
}

free_port() {
	if [ -x "$BUILD/tests/tools/freeport" ]; then
		"$BUILD/tests/tools/freeport"
	else
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	fi
}

alive() {
	kill -0 "$1" 2>/dev/null &&
		[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# wait_port PID PORT LOG: until something listens on 127.0.0.1:PORT (10 s).
wait_port() {
	local pid=$1 port=$2 log=$3 i=0

	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		if ! alive "$pid" || [ "$i" -ge 200 ]; then
			tail -n 20 "$log" >&2
			die "nothing listens on 127.0.0.1:$port (pid $pid)"
		fi
		sleep 0.05
		i=$((i + 1))
	done
}

# stop PID: SIGTERM, a bounded wait, then SIGKILL.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	timeout 10 tail --pid="$1" -f /dev/null 2>/dev/null || kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# field KEY: the value of KEY=value in a line read on stdin.
field() {
	awk -v k="$1" '{ for (i = 1; i <= NF; i++) { n = index($i, "=");
		if (substr($i, 1, n - 1) == k) print substr($i, n + 1) } }'
}

# ticks PID: "tid cpu-ticks" of each thread of a process.
ticks() {
	local t

	for t in /proc/"$1"/task/*; do
		[ -r "$t/stat" ] || continue
		# The command name may hold spaces: count fields after ')'.
		sed 's/.*) //' "$t/stat" | awk -v tid="${t##*/}" '{ print tid, $12 + $13 }'
	done 2>/dev/null
}

now_ns() {
	date +%s%N
}

# spin_start: a nice-19 busy loop on every CPU (AWAKE), until spin_stop.
spin_start() {
	local i

	for i in $(seq "$(nproc)"); do
		nice -n 19 sh -c 'while :; do :; done' &
		SPIN="$SPIN $!"
		PIDS="$PIDS $!"
	done
}

spin_stop() {
	local p

	for p in $SPIN; do
		stop "$p"
	done
	SPIN=""
}

# ---- the device ----------------------------------------------------------

# The simulator's description: register i holds i.
write_sim() {
	awk -v n="$TAGS" 'BEGIN { print "unit_id: 1"; print "registers:";
		for (i = 0; i < n; i++)
			printf "  - { table: holding, address: %d, type: uint16, value: %d }\n", i, i % 65536 }' \
	    >"$TMP/sim.yaml"
}

# write_config NAME PORT MAX_GAP MAX_REGISTERS: fieldmqd with one device.
write_config() {
	{
		cat <<YAML
log_level: warn
store: { path: $TMP/$1.db }
broker:
  sys_interval: 1s
  listeners:
    - { port: $2, bind: 127.0.0.1 }
devices:
  - name: dev
    driver: modbus-tcp
    host: 127.0.0.1
    port: $SIMPORT
    unit_id: 1
    poll: 0
    timeout: 1s
    topic: plant/{device}
    payload: json
    qos: 0
    max_gap: $3
    max_registers: $4
    tags:
YAML
		awk -v n="$TAGS" 'BEGIN { for (i = 0; i < n; i++)
			printf "      - { name: t%d, address: %d, type: uint16, publish: always }\n", i, i }'
	} >"$TMP/$1.yaml"
}

# ---- runs ----------------------------------------------------------------

# record MEASUREMENT RUN LINE: keeps one run's figures.
record() {
	echo "$1 $2 $3" >>"$RAW"
	printf '# %-15s run %s: %s\n' "$1" "$2" "$3" >&2
}

# run_raw LAYOUT RUN: the raw libmodbus loop (LAYOUT planned or per-tag).
run_raw() {
	local layout=$1 r=$2 out rc=0 flag="" s0 s1 t0 t1

	[ "$layout" = per-tag ] && flag=--per-tag
	[ "$AWAKE" = raw ] && spin_start
	s0=$(ticks "$SIMPID" | awk '{ t += $2 } END { print t + 0 }')
	t0=$(now_ns)
	# shellcheck disable=SC2086
	out=$(timeout -s TERM $((RUN_SECONDS * 3 + 30)) "$MODBUSBENCH" raw \
	    -t "127.0.0.1:$SIMPORT" --tags "$TAGS" --gap "$GAP" \
	    --seconds "$RUN_SECONDS" --check $flag 2>"$TMP/bench.err") || rc=$?
	t1=$(now_ns)
	s1=$(ticks "$SIMPID" | awk '{ t += $2 } END { print t + 0 }')
	[ "$AWAKE" = raw ] && spin_stop
	if [ "$rc" != 0 ] || [ -z "$out" ]; then
		sed 's/^/#   /' "$TMP/bench.err" >&2
		record "raw-$layout" "$r" "failed=1 why=exit-$rc"
		return
	fi
	record "raw-$layout" "$r" "$out sim_cpu_pct=$(pct "$s0" "$s1" "$t0" "$t1")"
}

# pct TICKS0 TICKS1 NS0 NS1: CPU use in per cent of one CPU.
pct() {
	awk -v a="$1" -v b="$2" -v t0="$3" -v t1="$4" -v hz="$HZ" \
	    'BEGIN { printf "%.0f", (b - a) / hz / ((t1 - t0) / 1e9) * 100 }'
}

# run_fieldmqd LAYOUT RUN: a fresh fieldmqd polling the device, counted by
# a subscriber; the CPU use of its threads, the simulator's meanwhile.
run_fieldmqd() {
	local layout=$1 r=$2 name="fieldmqd-$1-$2" port pid out rc=0
	local gap=$GAP regs=125 t0 t1 s0 s1 cpu

	[ "$layout" = per-tag ] && { gap=0; regs=1; }
	port=$(free_port)
	write_config "$name" "$port" "$gap" "$regs"
	"$FIELDMQD" -c "$TMP/$name.yaml" >>"$TMP/$name.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	wait_port "$pid" "$port" "$TMP/$name.log"
	ticks "$pid" >"$TMP/ticks0"
	s0=$(ticks "$SIMPID" | awk '{ t += $2 } END { print t + 0 }')
	t0=$(now_ns)
	out=$(timeout -s TERM $((RUN_SECONDS * 3 + WARMUP + 30)) "$MODBUSBENCH" \
	    count -h 127.0.0.1 -p "$port" -t 'plant/#' --seconds "$RUN_SECONDS" \
	    --warmup "$WARMUP" --sys 2>"$TMP/bench.err") || rc=$?
	t1=$(now_ns)
	s1=$(ticks "$SIMPID" | awk '{ t += $2 } END { print t + 0 }')
	ticks "$pid" >"$TMP/ticks1"
	alive "$pid" || note "fieldmqd died: $(tail -n 5 "$TMP/$name.log" | tr '\n' ' ')"
	stop "$pid"
	if [ "$rc" != 0 ] || [ -z "$out" ]; then
		sed 's/^/#   /' "$TMP/bench.err" >&2
		record "fieldmqd-$layout" "$r" "failed=1 why=exit-$rc"
		return
	fi
	# The loop thread is the main one (tid = pid); the line thread is the
	# busiest of the others.
	cpu=$(join <(sort "$TMP/ticks0") <(sort "$TMP/ticks1") |
	    awk -v pid="$pid" -v hz="$HZ" -v s=$(((t1 - t0) / 1000)) '{
		d = ($3 - $2) / hz / (s / 1e6) * 100; all += d
		if ($1 == pid) loop = d; else if (d > line) line = d }
		END { printf "loop_cpu_pct=%.0f line_cpu_pct=%.0f fieldmqd_cpu_pct=%.0f",
		    loop, line, all }')
	grep -q 'offline' "$TMP/$name.log" && note "$name: the device went offline: $(grep -m1 offline "$TMP/$name.log")"
	record "fieldmqd-$layout" "$r" "$out $cpu sim_cpu_pct=$(pct "$s0" "$s1" "$t0" "$t1")"
}

# ---- report --------------------------------------------------------------

# median MEASUREMENT KEY: the median of KEY over the runs that worked.
median() {
	awk -v m="$1" '$1 == m && !/failed=1/' "$RAW" |
		field "$2" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-";
		      else if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# paired LAYOUT: the median over runs of fieldmqd's rate / raw's tags_per_s
# of the same run (the two ran one after the other).
paired() {
	awk -v f="fieldmqd-$1" -v r="raw-$1" '!/failed=1/ && ($1 == f || $1 == r) {
		for (i = 3; i <= NF; i++) {
			n = index($i, "=")
			k = substr($i, 1, n - 1)
			if (($1 == f && k == "rate") || ($1 == r && k == "tags_per_s"))
				v[$1, $2] = substr($i, n + 1)
		}
		runs[$2] = 1
	}
	END { for (x in runs)
		if ((f, x) in v && (r, x) in v && v[r, x] > 0)
			print v[f, x] / v[r, x] }' "$RAW" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-";
		      else if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# fmt VALUE FORMAT: VALUE printed with FORMAT, or "-".
fmt() {
	# shellcheck disable=SC2059
	if [ "$1" = - ]; then echo -; else printf "$2" "$1"; fi
}

# calc EXPR A B: a figure from two medians ("-" if either is missing).
calc() {
	if [ "$2" = - ] || [ "$3" = - ]; then
		echo -
	else
		awk -v a="$2" -v b="$3" "BEGIN { if ($4) print $1; else print \"-\" }"
	fi
}

# row LABEL PLANNED PER-TAG FORMAT
row() {
	printf "%-46s %14s %14s\n" "$1" "$(fmt "$2" "$4")" "$(fmt "$3" "$4")"
}

report() {
	local rp rt fp ft pp pt
	local contig sparse

	contig=$(grep '^plan layout=contiguous' "$TMP/plan.txt")
	sparse=$(grep '^plan layout=sparse' "$TMP/plan.txt")
	echo
	echo "Field-driver benchmark: $TAGS uint16 holding registers, Modbus TCP on loopback, fieldmq sim"
	echo "  median of $RUNS runs of ${RUN_SECONDS}s (ABAB: raw, fieldmqd), $(nproc) CPUs shared by all processes"
	echo "  fieldmqd: $("$FIELDMQD" -V 2>&1 | head -n 1); load average before: $LOAD0"
	case $AWAKE in
	all) echo "  AWAKE=all: nice-19 spinners keep the CPUs from halting throughout" ;;
	raw) echo "  AWAKE=raw: nice-19 spinners keep the CPUs from halting during the raw runs" ;;
	*) echo "  AWAKE=0: idle CPUs may halt between requests: the raw loop is then no ceiling" ;;
	esac
	echo
	printf "%-46s %14s %14s\n" "requests per poll cycle" planned per-tag
	row "contiguous, $TAGS tags (this benchmark)" \
	    "$(echo "$contig" | field planned)" "$(echo "$contig" | field per_tag)" "%s"
	row "sparse, $TAGS tags over $(echo "$sparse" | field span) registers" \
	    "$(echo "$sparse" | field planned)" "$(echo "$sparse" | field per_tag)" "%s"
	echo "  (max_gap $GAP, 125 registers; sparse: groups of 10-40 mixed-width tags"
	echo "   20-500 registers apart; with max_gap 0 it needs $(echo "$sparse" | field planned_gap0);" \
	    "registers read: $(echo "$sparse" | field registers_read) for $(echo "$sparse" | field registers) used)"
	echo
	rp=$(median raw-planned tags_per_s)
	rt=$(median raw-per-tag tags_per_s)
	fp=$(median fieldmqd-planned rate)
	ft=$(median fieldmqd-per-tag rate)
	printf "%-46s %14s %14s\n" "throughput" planned per-tag
	row "raw libmodbus: requests/s" "$(median raw-planned requests_per_s)" \
	    "$(median raw-per-tag requests_per_s)" "%.0f"
	row "raw libmodbus: cycle time (ms)" "$(median raw-planned cycle_ms)" \
	    "$(median raw-per-tag cycle_ms)" "%.3f"
	row "raw libmodbus: tags/s" "$rp" "$rt" "%.0f"
	row "fieldmqd -> broker -> subscriber: tags/s" "$fp" "$ft" "%.0f"
	pp=$(echo "$contig" | field planned)
	pt=$(echo "$contig" | field per_tag)
	row "fieldmqd: requests/s (tags/s / tags per req.)" \
	    "$(calc "a * b / $TAGS" "$fp" "$pp" "1")" "$(calc "a * b / $TAGS" "$ft" "$pt" "1")" "%.0f"
	row "fieldmqd: cycle time (ms, $TAGS tags / rate)" \
	    "$(calc "$TAGS * 1000 / a" "$fp" 0 "a > 0")" "$(calc "$TAGS * 1000 / a" "$ft" 0 "a > 0")" "%.3f"
	row "ratio fieldmqd / raw (tags/s, of the medians)" \
	    "$(calc "a / b" "$fp" "$rp" "b > 0")" "$(calc "a / b" "$ft" "$rt" "b > 0")" "%.2f"
	row "ratio fieldmqd / raw (median of paired runs)" "$(paired planned)" \
	    "$(paired per-tag)" "%.2f"
	echo
	printf "%-46s %14s %14s\n" "CPU, % of one CPU (medians)" planned per-tag
	row "raw loop / simulator" "$(median raw-planned cpu_pct) / $(median raw-planned sim_cpu_pct)" \
	    "$(median raw-per-tag cpu_pct) / $(median raw-per-tag sim_cpu_pct)" "%s"
	row "fieldmqd line thread / loop thread / all" \
	    "$(median fieldmqd-planned line_cpu_pct) / $(median fieldmqd-planned loop_cpu_pct) / $(median fieldmqd-planned fieldmqd_cpu_pct)" \
	    "$(median fieldmqd-per-tag line_cpu_pct) / $(median fieldmqd-per-tag loop_cpu_pct) / $(median fieldmqd-per-tag fieldmqd_cpu_pct)" "%s"
	row "simulator / subscriber (fieldmqd runs)" \
	    "$(median fieldmqd-planned sim_cpu_pct) / $(median fieldmqd-planned cpu_pct)" \
	    "$(median fieldmqd-per-tag sim_cpu_pct) / $(median fieldmqd-per-tag cpu_pct)" "%s"
	echo
	echo "fieldmqd polls with poll: 0 (the next cycle as soon as one ends)."
	echo
	echo "readings lost or wrong over all runs (should all be 0):"
	printf "  raw: values not matching the simulator: %s\n" \
	    "$(awk '/^raw/' "$RAW" | field bad | awk '{ t += $1 } END { print t + 0 }')"
	printf "  fieldmqd: quality not good: %s; dropped by the broker (\$SYS, +-1 s): %s\n" \
	    "$(awk '/^fieldmqd/' "$RAW" | field bad | awk '{ t += $1 } END { print t + 0 }')" \
	    "$(awk '/^fieldmqd/' "$RAW" | field broker_dropped | awk '{ t += $1 } END { print t + 0 }')"
	awk '/failed=1/ { print "  failed: " $0 }' "$RAW"
}

# ---- main ----------------------------------------------------------------

[ -x "$FIELDMQD" ] || die "$FIELDMQD is missing (build it first)"
[ -x "$FIELDMQ" ] || die "$FIELDMQ is missing (build it first)"
build_modbusbench
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

case $AWAKE in
0) ;;
1 | all) AWAKE=all; spin_start; note "$(nproc) nice-19 spinners keep the CPUs awake" ;;
raw) note "$(nproc) nice-19 spinners keep the CPUs awake during the raw runs" ;;
*) die "AWAKE=$AWAKE: 0, 1 (all) or raw" ;;
esac

write_sim
SIMPORT=$(free_port)
"$FIELDMQ" sim -t "127.0.0.1:$SIMPORT" -f "$TMP/sim.yaml" >"$TMP/sim.log" 2>&1 &
SIMPID=$!
PIDS="$PIDS $SIMPID"
wait_port "$SIMPID" "$SIMPORT" "$TMP/sim.log"
note "simulator: pid $SIMPID on 127.0.0.1:$SIMPORT, $TAGS registers"

"$MODBUSBENCH" plan --tags "$TAGS" --gap "$GAP" >"$TMP/plan.txt" ||
	die "modbusbench plan failed"
sed 's/^/# /' "$TMP/plan.txt" >&2

for r in $(seq 1 "$RUNS"); do
	for layout in planned per-tag; do
		run_raw "$layout" "$r"
		run_fieldmqd "$layout" "$r"
	done
done
alive "$SIMPID" || note "the simulator is no longer running"
stop "$SIMPID"

report
# Slow is a figure; a failed run is not.
! grep -q 'failed=1' "$RAW"
