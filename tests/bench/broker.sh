#!/bin/bash
# Broker benchmark: the same scenarios against fieldmqd and against Debian's
# mosquitto, in one run, alternating between them (ABAB) so that both see
# the same machine state, and a table of medians with the ratio
# fieldmqd/mosquitto. Figures are printed, never judged: there is no
# pass/fail threshold. Loss and duplicates are counted in every run.
#
#   tests/bench/broker.sh [BUILDDIR]      (default ./build)
#
# Environment:
#   FIELDMQD=path    the daemon (default BUILDDIR/fieldmqd)
#   MQTTBENCH=path   the load generator (default BUILDDIR/tests/bench/mqttbench;
#                    compiled there from tests/bench/mqttbench.c if absent)
#   MOSQUITTO=path   default /usr/sbin/mosquitto (apt-get installed if missing)
#   BROKERS="fieldmqd mosquitto"   which to run (one alone gives no ratio)
#   RUNS=3           runs per scenario and broker (the median is reported)
#   SCALE=1          multiplies the message counts (200k fan-in, 50k per
#                    fan-out subscriber): a broker that finishes a run in
#                    well under a second is measured more fairly with more
#   KEEP_TMP=1       keep the temporary directory (configs, logs, raw lines)
set -eu

BUILD=${1:-./build}
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
FIELDMQD=${FIELDMQD:-$BUILD/fieldmqd}
MQTTBENCH=${MQTTBENCH:-$BUILD/tests/bench/mqttbench}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
BROKERS=${BROKERS:-fieldmqd mosquitto}
RUNS=${RUNS:-3}
SCALE=${SCALE:-1}
IDLE_CONNS=5000

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fieldmq-bench.XXXXXX")
PIDS=""
RAW=$TMP/raw.txt	# "broker scenario run key=value ..." per run
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
	echo "broker.sh: $*" >&2
	exit 1
}

note() {
	echo "# $*" >&2
}

# ---- tools ---------------------------------------------------------------

# build_mqttbench: compiles the load generator into BUILD if it is absent
# (until the Makefile does it).
build_mqttbench() {
	[ -x "$MQTTBENCH" ] && return 0
	local g=$SRCDIR/gateway inc=$BUILD
	mkdir -p "$(dirname "$MQTTBENCH")"
	[ -f "$inc/config.h" ] || { inc=$TMP/inc; mkdir -p "$inc"; : >"$inc/config.h"; }
	note "compiling $MQTTBENCH"
	gcc -O2 -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	    -Wno-missing-field-initializers -D_GNU_SOURCE -I"$inc" -I"$g" \
	    "$SRCDIR/tests/bench/mqttbench.c" "$g/broker/packet.c" "$g/buf.c" \
	    "$g/util.c" "$g/log.c" -pthread -lm -o "$MQTTBENCH" ||
		die "cannot compile mqttbench"
}

need_mosquitto() {
	[ -x "$MOSQUITTO" ] && return 0
	[ "$(id -u)" = 0 ] || die "$MOSQUITTO is missing: apt-get install mosquitto"
	note "installing mosquitto"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto >&2 ||
		die "apt-get install mosquitto failed"
	[ -x "$MOSQUITTO" ] || die "$MOSQUITTO is still missing"
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

# rss_kb PID: the resident set size in kB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# field KEY: the value of KEY=value in a line read on stdin.
field() {
	awk -v k="$1" '{ for (i = 1; i <= NF; i++) { n = index($i, "=");
		if (substr($i, 1, n - 1) == k) print substr($i, n + 1) } }'
}

# ---- brokers -------------------------------------------------------------

# write_config BROKER NAME PORT: the config file for one broker instance.
write_config() {
	local b=$1 name=$2 port=$3
	case $b in
	fieldmqd)
		cat >"$TMP/$name.yaml" <<YAML
log_level: warn
store: { path: $TMP/$name.db }
broker:
  sys_interval: 60s
  max_inflight: 1000
  max_queued_messages: 1000000
  max_queued_bytes: 1GiB
  listeners:
    - { port: $port, bind: 127.0.0.1 }
YAML
		;;
	mosquitto)
		cat >"$TMP/$name.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
set_tcp_nodelay true
persistence false
log_dest none
CONF
		;;
	esac
}

# start_broker BROKER NAME: starts an instance on a free port and waits
# until it accepts connections; sets PID and PORT.
start_broker() {
	local b=$1 name=$2 i=0
	PORT=$(free_port)
	write_config "$b" "$name" "$PORT"
	case $b in
	fieldmqd) "$FIELDMQD" -c "$TMP/$name.yaml" >>"$TMP/$name.log" 2>&1 & ;;
	mosquitto) "$MOSQUITTO" -c "$TMP/$name.conf" >>"$TMP/$name.log" 2>&1 & ;;
	esac
	PID=$!
	PIDS="$PIDS $PID"
	until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
		if ! alive "$PID" || [ "$i" -ge 200 ]; then
			tail -n 20 "$TMP/$name.log" >&2
			die "$b did not start listening on 127.0.0.1:$PORT"
		fi
		sleep 0.05
		i=$((i + 1))
	done
}

# stop_broker PID: SIGTERM, a bounded wait, then SIGKILL.
stop_broker() {
	kill -TERM "$1" 2>/dev/null || true
	timeout 10 tail --pid="$1" -f /dev/null 2>/dev/null || kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# ---- scenarios -----------------------------------------------------------

# The load of each scenario: mqttbench arguments. QoS 2 is bounded by a
# time limit as well as a count (mosquitto's QoS 2 may collapse); what
# arrived by then is reported.
scenario_args() {
	case $1 in
	fanin0) echo "fanin --pubs 4 --count $((50000 * SCALE)) --qos 0 --size 64 --stall 5" ;;
	fanin1) echo "fanin --pubs 4 --count $((50000 * SCALE)) --qos 1 --size 64 --stall 5" ;;
	fanin2) echo "fanin --pubs 4 --count $((25000 * SCALE)) --qos 2 --size 64 --stall 5 --time-limit 10" ;;
	fanout0) echo "fanout --subs 16 --count $((50000 * SCALE)) --qos 0 --size 64 --stall 5" ;;
	latency1) echo "latency --rate 1000 --seconds 5 --qos 1 --size 64 --stall 5" ;;
	esac
}

# record BROKER SCENARIO RUN LINE: keeps one run's figures.
record() {
	echo "$1 $2 $3 $4" >>"$RAW"
	printf '# %-9s %-8s run %s: %s\n' "$1" "$2" "$3" "$4" >&2
}

# run_bench BROKER SCENARIO RUN: one run against the long-lived instance.
run_bench() {
	local b=$1 s=$2 r=$3 port pid out rc=0
	eval "port=\$PORT_$b pid=\$PID_$b"
	if ! alive "$pid"; then
		record "$b" "$s" "$r" "failed=1 why=broker-died"
		return
	fi
	# shellcheck disable=SC2046
	out=$(timeout -s TERM 60 "$MQTTBENCH" $(scenario_args "$s") \
	    -h 127.0.0.1 -p "$port" 2>"$TMP/bench.err") || rc=$?
	if [ "$rc" != 0 ] || [ -z "$out" ]; then
		sed 's/^/#   /' "$TMP/bench.err" >&2
		alive "$pid" || note "$b died: $(tail -n 5 "$TMP/$b.log" | tr '\n' ' ')"
		record "$b" "$s" "$r" "failed=1 why=exit-$rc"
		return
	fi
	record "$b" "$s" "$r" "$out"
}

# run_memory BROKER RUN: a fresh instance, its RSS before and after
# IDLE_CONNS idle connections (a fresh one because a broker that already
# served other runs reuses memory it freed).
run_memory() {
	local b=$1 r=$2 before after i=0 rc=0 ip
	start_broker "$b" "$b-mem$r"
	before=$(rss_kb "$PID")
	rm -f "$TMP/idle.in" "$TMP/idle.out"
	mkfifo "$TMP/idle.in"
	timeout -s TERM 120 "$MQTTBENCH" idle -h 127.0.0.1 -p "$PORT" \
	    --conns "$IDLE_CONNS" <"$TMP/idle.in" >"$TMP/idle.out" \
	    2>"$TMP/bench.err" &
	ip=$!
	exec 9>"$TMP/idle.in"	# its stdin: closing it ends the run
	while ! grep -q '^idle connected=' "$TMP/idle.out" 2>/dev/null; do
		if ! alive "$ip" || [ "$i" -ge 1200 ]; then
			break
		fi
		sleep 0.05
		i=$((i + 1))
	done
	if grep -q '^idle connected=' "$TMP/idle.out"; then
		sleep 0.5	# let the broker finish the last CONNACKs' bookkeeping
		after=$(rss_kb "$PID")
	fi
	exec 9>&-
	wait "$ip" || rc=$?
	if [ -z "${after:-}" ] || [ "$rc" != 0 ]; then
		sed 's/^/#   /' "$TMP/bench.err" >&2
		record "$b" memory "$r" "failed=1 why=exit-$rc"
	else
		record "$b" memory "$r" "rss_before_kb=$before rss_after_kb=$after bytes_per_conn=$(((after - before) * 1024 / IDLE_CONNS)) conns=$IDLE_CONNS"
	fi
	stop_broker "$PID"
}

# ---- report --------------------------------------------------------------

# median BROKER SCENARIO KEY: the median of KEY over the runs that worked.
median() {
	awk -v b="$1" -v s="$2" '$1 == b && $2 == s && !/failed=1/' "$RAW" |
		field "$3" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-";
		      else if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# sum BROKER KEY: KEY added up over all runs of a broker.
sum() {
	awk -v b="$1" '$1 == b' "$RAW" | field "$2" |
		awk '{ t += $1 } END { print t + 0 }'
}

count_runs() {
	awk -v b="$1" -v s="$2" -v k="$3" '$1 == b && $2 == s && $0 ~ k' "$RAW" |
		wc -l
}

has() {
	case " $BROKERS " in *" $1 "*) return 0 ;; esac
	return 1
}

# row LABEL SCENARIO KEY FORMAT
row() {
	local f=- m=- ratio=-
	has fieldmqd && f=$(median fieldmqd "$2" "$3")
	has mosquitto && m=$(median mosquitto "$2" "$3")
	if [ "$f" != - ] && [ "$m" != - ]; then
		ratio=$(awk -v f="$f" -v m="$m" 'BEGIN {
			if (m == 0) print "-"; else printf "%.2f", f / m }')
	fi
	printf "%-40s %12s %12s %8s\n" "$1" \
	    "$(fmt "$f" "$4")" "$(fmt "$m" "$4")" "$ratio"
}

# fmt VALUE FORMAT: VALUE printed with FORMAT, or "-".
fmt() {
	# shellcheck disable=SC2059
	if [ "$1" = - ]; then echo -; else printf "$2" "$1"; fi
}

report() {
	local b
	echo
	echo "MQTT broker benchmark, 64-byte payloads, loopback, median of $RUNS runs (ABAB), SCALE=$SCALE"
	has fieldmqd && echo "  fieldmqd:  $("$FIELDMQD" -V 2>&1 | head -n 1)"
	has mosquitto && echo "  mosquitto: $("$MOSQUITTO" -h 2>&1 | head -n 1)"
	echo "  $(nproc) CPUs; load generator and broker share them"
	echo
	printf "%-40s %12s %12s %8s\n" "scenario" fieldmqd mosquitto "f/m"
	echo "-- throughput: higher is better"
	row "fan-in 4->1 QoS 0 (msg/s)" fanin0 rate "%.0f"
	row "fan-in 4->1 QoS 1 (msg/s)" fanin1 rate "%.0f"
	row "fan-in 4->1 QoS 2 (msg/s)" fanin2 rate "%.0f"
	row "fan-out 1->16 QoS 0 (deliveries/s)" fanout0 rate "%.0f"
	echo "-- latency and memory: lower is better"
	row "latency p50, 1000 msg/s QoS 1 (us)" latency1 p50_us "%.1f"
	row "latency p99, 1000 msg/s QoS 1 (us)" latency1 p99_us "%.1f"
	row "latency max, 1000 msg/s QoS 1 (us)" latency1 max_us "%.1f"
	row "memory per idle connection (bytes)" memory bytes_per_conn "%.0f"
	echo
	echo "loss and duplicates over all runs (should all be 0):"
	for b in $BROKERS; do
		printf "  %-9s lost=%s dup=%s reorder=%s failed_runs=%s" "$b" \
		    "$(sum "$b" lost)" "$(sum "$b" dup)" "$(sum "$b" reorder)" \
		    "$(awk -v b="$b" '$1 == b && /failed=1/' "$RAW" | wc -l)"
		printf " qos2_time_limited=%s/%s (undelivered then: %s)\n" \
		    "$(count_runs "$b" fanin2 limited=1)" \
		    "$(count_runs "$b" fanin2 .)" \
		    "$(awk -v b="$b" '$1 == b && $2 == "fanin2"' "$RAW" | field pending | awk '{ t += $1 } END { print t + 0 }')"
	done
	awk '!/failed=1/ && $2 != "memory" {
		for (i = 4; i <= NF; i++)
			if ($i ~ /^(lost|dup|reorder)=/ && $i !~ /=0$/) {
				print "  nonzero: " $0; break } }' "$RAW"
	awk '/failed=1/ { print "  failed: " $0 }' "$RAW"
}

# ---- main ----------------------------------------------------------------

for b in $BROKERS; do
	case $b in
	fieldmqd) [ -x "$FIELDMQD" ] || die "$FIELDMQD is missing (build it, or BROKERS=mosquitto)" ;;
	mosquitto) need_mosquitto ;;
	*) die "unknown broker $b" ;;
	esac
done
build_mqttbench
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((IDLE_CONNS + 100)) ] ||
	die "the open files limit $(ulimit -n) is too low for $IDLE_CONNS connections"

note "memory: $IDLE_CONNS idle connections, a fresh broker per run"
for r in $(seq 1 "$RUNS"); do
	for b in $BROKERS; do
		run_memory "$b" "$r"
	done
done

for b in $BROKERS; do
	start_broker "$b" "$b"
	eval "PORT_$b=$PORT PID_$b=$PID"
	note "$b: pid $PID on 127.0.0.1:$PORT"
done
for s in fanin0 fanin1 fanin2 fanout0 latency1; do
	for r in $(seq 1 "$RUNS"); do
		for b in $BROKERS; do
			run_bench "$b" "$s" "$r"
		done
	done
done
for b in $BROKERS; do
	eval "pid=\$PID_$b"
	alive "$pid" || note "$b is no longer running"
	stop_broker "$pid"
done

report
# Slow is a figure; a protocol failure or a crash is not.
! grep -q 'failed=1' "$RAW"
