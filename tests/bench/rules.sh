#!/bin/bash
# Rule-engine benchmark: sustained rows per second from MQTT publishes into
# a history table, against the messages per second the same publishers
# reach when no table is mapped. For each QoS (0 and 1) and run, two fresh
# fieldmqd instances on free loopback ports, one after the other (ABAB):
#   bare:  no tables: (the store is open, as always, but only the broker runs);
#   table: one table readings on bench/# (mqttbench's topics are
#          bench/p0 .. bench/pN), columns
#            publisher: topic[1]  (text: "p0" .. "p3")
#            value:     $.value   (real, from mqttbench's --json payloads:
#                                  {"value":N.25,"p":..,"s":..,"t":..}
#                                  padded with spaces to 64 bytes)
# loaded by `mqttbench fanin --pubs 4 --count COUNT --qos Q --size 64 --json`
# (4 publishers, one subscriber on bench/#, 64-byte payloads).
#
# Figures (medians of RUNS runs; printed, never judged):
#   msg/s   (bare, and table for comparison): mqttbench's own rate, the
#           messages its subscriber received / the time from the publishers'
#           release to the last one received.
#   rows/s  (table): rows in the table after fieldmqd stopped (SIGTERM; it
#           commits everything queued before it exits; sqlite3 count(*)) /
#           the time from just before mqttbench was started (its 5
#           connections, a few ms, included) to the last commit. The last
#           commit is seen by a poller that reads max(rowid) every 10 ms
#           (a read transaction on the WAL, which never blocks the writer)
#           and stops once it has seen as many rows as were published, or
#           nothing new for 1 s after mqttbench ended: the time of the last
#           change it saw (10 ms resolution). Should the table hold more
#           rows after the stop than the poller saw (committed at the stop),
#           the stop's end is taken instead and the run is marked late=1.
#   ratio   rows/s (table) / msg/s (bare), of the medians.
#   lost    messages published (mqttbench sent=) - rows; the share of them
#           the rule engine refused because the store's queue was full is
#           its "dropped" counter, read from a fresh (not retained)
#           $SYS/fieldmq/tables/readings message after the rows settled
#           (broker.sys_interval is 1s here; needs mosquitto_sub), and the
#           "(N in all)" of the last "not written" log line (logged at most
#           once a sys_interval: a lower bound).
# QoS 0 publishers have no flow control of their own: when the store's
# queue is over half full (queue_rows 100000), fieldmqd stops reading the
# publisher until it is down to a quarter, so TCP paces them to the writer
# and nothing should be lost. At QoS 1 the rule engine acknowledges a
# message only once its row is committed, so publishers are paced by the
# writer too.
#
#   tests/bench/rules.sh [BUILDDIR]      (default ./build)
#
# Environment:
#   FIELDMQD=path    the daemon (default BUILDDIR/fieldmqd; copied into the
#                    temporary directory first, so that a rebuild during the
#                    run changes nothing)
#   MQTTBENCH=path   the load generator (default BUILDDIR/tests/bench/mqttbench;
#                    compiled into the temporary directory from
#                    tests/bench/mqttbench.c if absent)
#   RUNS=3           runs per QoS and configuration (the median is reported)
#   COUNT=250000     messages per publisher (4 publishers: 1M a run; a
#                    shorter run measures little more than start-up)
#   QOS="0 1"        the publishers' QoS levels to run
#   LOG_LEVEL=info   fieldmqd's log level (info says why a client was
#                    disconnected; the log of a failed run is shown)
#   KEEP_TMP=1       keep the temporary directory (configs, logs, databases)
set -eu

BUILD=${1:-./build}
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
FIELDMQD=${FIELDMQD:-$BUILD/fieldmqd}
MQTTBENCH=${MQTTBENCH:-$BUILD/tests/bench/mqttbench}
RUNS=${RUNS:-3}
COUNT=${COUNT:-250000}
QOS=${QOS:-0 1}
PUBS=4
LOG_LEVEL=${LOG_LEVEL:-info}
QUIET=1.0		# s without a new row after mqttbench ended: the writer is done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fieldmq-bench.XXXXXX")
PIDS=""
RAW=$TMP/raw.txt	# "qosQ config run key=value ..." per run
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
	echo "rules.sh: $*" >&2
	exit 1
}

note() {
	echo "# $*" >&2
}

# ---- tools ---------------------------------------------------------------

# build_mqttbench: compiles the load generator into TMP if it is absent.
build_mqttbench() {
	[ -x "$MQTTBENCH" ] && return 0
	local g=$SRCDIR/gateway inc=$BUILD
	[ -f "$inc/config.h" ] || { inc=$TMP/inc; mkdir -p "$inc"; : >"$inc/config.h"; }
	MQTTBENCH=$TMP/mqttbench
	note "compiling $MQTTBENCH"
	gcc -O2 -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	    -Wno-missing-field-initializers -D_GNU_SOURCE -I"$inc" -I"$g" \
	    "$SRCDIR/tests/bench/mqttbench.c" "$g/broker/packet.c" "$g/buf.c" \
	    "$g/util.c" "$g/log.c" -pthread -lm -o "$MQTTBENCH" ||
		die "cannot compile mqttbench"
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

# field KEY: the value of KEY=value in a line read on stdin.
field() {
	awk -v k="$1" '{ for (i = 1; i <= NF; i++) { n = index($i, "=");
		if (substr($i, 1, n - 1) == k) print substr($i, n + 1) } }'
}

# now: the wall clock in seconds, microseconds (the poller uses the same).
now() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		echo "${EPOCHREALTIME/,/.}"
	else
		date +%s.%N
	fi
}

# The poller: python3 POLL DB FLAG READY. Reads max(rowid) of readings
# every 10 ms; once FLAG holds the number of messages published, it ends
# when it has seen that many rows, or nothing new for QUIET s (or after
# 100 s in all), printing "last_change_time rows_seen".
write_poller() {
	cat >"$TMP/poll.py" <<PY
import os, sqlite3, sys, time
db, flag, ready = sys.argv[1:4]
con = sqlite3.connect(db, timeout=1.0)
start = time.time()
last_v, last_t, sent = 0, start, None
open(ready, "w").close()
while True:
    try:
        v = con.execute("SELECT coalesce(max(rowid), 0) FROM readings").fetchone()[0]
    except sqlite3.Error:
        v = last_v
    now = time.time()
    if v != last_v:
        last_v, last_t = v, now
    if sent is None and os.path.exists(flag):
        try:
            sent = int(open(flag).read().strip())
        except ValueError:
            pass
    if sent is not None and (last_v >= sent or now - max(last_t, os.path.getmtime(flag)) > $QUIET):
        break
    if now - start > 100:
        break
    time.sleep(0.01)
con.close()
print("%.6f %d" % (last_t, last_v))
PY
}

# ---- fieldmqd ------------------------------------------------------------

# write_config NAME PORT TABLE: TABLE 1 maps the history table.
write_config() {
	cat >"$TMP/$1.yaml" <<YAML
log_level: $LOG_LEVEL
store: { path: $TMP/$1.db }
broker:
  sys_interval: 1s
  max_inflight: 1000
  max_queued_messages: 1000000
  max_queued_bytes: 1GiB
  listeners:
    - { port: $2, bind: 127.0.0.1 }
YAML
	[ "$3" = 1 ] || return 0
	cat >>"$TMP/$1.yaml" <<YAML
tables:
  - name: readings
    topic: "bench/#"
    columns:
      publisher: { from: "topic[1]", type: text }
      value: { from: "$.value", type: real }
YAML
}

# start_daemon NAME TABLE: a fresh instance on a free port, waits until it
# accepts connections; sets PID and PORT.
start_daemon() {
	local name=$1 i=0
	PORT=$(free_port)
	write_config "$name" "$PORT" "$2"
	"$DAEMON" -c "$TMP/$name.yaml" >>"$TMP/$name.log" 2>&1 &
	PID=$!
	PIDS="$PIDS $PID"
	until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
		if ! alive "$PID" || [ "$i" -ge 200 ]; then
			tail -n 20 "$TMP/$name.log" >&2
			die "fieldmqd did not start listening on 127.0.0.1:$PORT"
		fi
		sleep 0.05
		i=$((i + 1))
	done
}

# stop_daemon PID: SIGTERM and a bounded wait (it commits what is queued
# first), then SIGKILL; sets STATUS (its exit status, or "killed").
stop_daemon() {
	kill -TERM "$1" 2>/dev/null || true
	if timeout 60 tail --pid="$1" -f /dev/null 2>/dev/null; then
		STATUS=0
		wait "$1" 2>/dev/null || STATUS=$?
	else
		kill -9 "$1" 2>/dev/null || true
		wait "$1" 2>/dev/null || true
		STATUS=killed
	fi
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# ---- runs ----------------------------------------------------------------

# show_log NAME: the end of a failed run's fieldmqd log, without the
# connection lines.
show_log() {
	grep -v -e ' connected from ' -e 'client sent DISCONNECT' \
	    -e 'closed by the client' "$TMP/$1.log" | tail -n 8 |
	    sed 's/^/#   fieldmqd: /' >&2
}

record() {
	echo "$1 $2 $3 $4" >>"$RAW"
	printf '# qos %s %-5s run %s: %s\n' "${1#q}" "$2" "$3" "$4" >&2
}

# bench PORT QOS: one mqttbench fan-in run; sets OUT and RC.
bench() {
	RC=0
	OUT=$(timeout -s TERM 100 "$MQTTBENCH" fanin --pubs "$PUBS" \
	    --count "$COUNT" --qos "$2" --size 64 --json --stall 5 -h 127.0.0.1 \
	    -p "$1" 2>"$TMP/bench.err") || RC=$?
}

# run_bare QOS RUN
run_bare() {
	local q=$1 r=$2 name="q$1-bare-$2"
	start_daemon "$name" 0
	bench "$PORT" "$q"
	stop_daemon "$PID"
	[ "${KEEP_TMP:-0}" = 1 ] || rm -f "$TMP/$name.db" "$TMP/$name.db-wal" \
	    "$TMP/$name.db-shm"
	if [ "$RC" != 0 ] || [ -z "$OUT" ]; then
		sed 's/^/#   /' "$TMP/bench.err" >&2
		show_log "$name"
		record "q$q" bare "$r" "failed=1 why=mqttbench-exit-$RC status=$STATUS"
		return
	fi
	record "q$q" bare "$r" "$OUT status=$STATUS"
}

# run_table QOS RUN
run_table() {
	local q=$1 r=$2 name="q$1-table-$2" i=0 t0 tstop poll tlast seen
	local sent rows dead sys sys_dropped log_dropped errors late=0 secs rate
	local ppid
	start_daemon "$name" 1
	rm -f "$TMP/flag" "$TMP/ready"
	python3 "$TMP/poll.py" "$TMP/$name.db" "$TMP/flag" "$TMP/ready" \
	    >"$TMP/poll.out" 2>"$TMP/poll.err" &
	ppid=$!
	PIDS="$PIDS $ppid"
	while [ ! -e "$TMP/ready" ] && alive "$ppid" && [ "$i" -lt 200 ]; do
		sleep 0.02
		i=$((i + 1))
	done
	[ -e "$TMP/ready" ] || die "the poller did not start: $(cat "$TMP/poll.err")"

	t0=$(now)
	bench "$PORT" "$q"
	sent=$(echo "$OUT" | field sent)
	echo "${sent:-0}" >"$TMP/flag.tmp"
	mv "$TMP/flag.tmp" "$TMP/flag"
	wait "$ppid" || true
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$ppid" | tr '\n' ' ')
	poll=$(cat "$TMP/poll.out")
	[ -n "$poll" ] || poll="0 -1"	# no poller figures: taken as late below
	tlast=${poll% *}
	seen=${poll#* }

	# The rule engine's own count of refused messages, from a $SYS message
	# published after the rows settled (-R: not the retained copy).
	sys=-
	sys_dropped=-
	if command -v mosquitto_sub >/dev/null && alive "$PID"; then
		# shellcheck disable=SC2016
		sys=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PORT" -R -C 1 -W 5 \
		    -t '$SYS/fieldmq/tables/readings' 2>/dev/null) || true
		sys_dropped=$(echo "$sys" | sed -n 's/.*"dropped":\([0-9]*\).*/\1/p')
		[ -n "$sys_dropped" ] || sys_dropped=-
	fi

	stop_daemon "$PID"
	tstop=$(now)
	rows=$(sqlite3 "$TMP/$name.db" "SELECT count(*) FROM readings" 2>&1) ||
		rows=-
	dead=$(sqlite3 "$TMP/$name.db" "SELECT count(*) FROM dead_letters" 2>&1) ||
		dead=-
	log_dropped=$(grep 'not written' "$TMP/$name.log" |
	    sed -n 's/.*(\([0-9]*\) in all).*/\1/p' | tail -n 1)
	errors=$(grep -c ' error ' "$TMP/$name.log" | head -n 1) || true
	errors=$((errors - $(grep -c 'not written' "$TMP/$name.log" || true)))

	if [ "$RC" != 0 ] || [ -z "$OUT" ] || [ "$rows" = - ]; then
		sed 's/^/#   /' "$TMP/bench.err" >&2
		show_log "$name"
		record "q$q" table "$r" "failed=1 why=mqttbench-exit-$RC rows=$rows status=$STATUS"
		return
	fi
	if [ "$rows" -gt "$seen" ]; then
		tlast=$tstop	# committed at the stop: the stop is the last commit
		late=1
	fi
	secs=$(awk -v a="$t0" -v b="$tlast" 'BEGIN { printf "%.3f", b - a }')
	rate=$(awk -v n="$rows" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print 0 }')
	[ "${KEEP_TMP:-0}" = 1 ] || rm -f "$TMP/$name.db" "$TMP/$name.db-wal" \
	    "$TMP/$name.db-shm"
	record "q$q" table "$r" "rows=$rows rows_seconds=$secs rows_rate=$rate late=$late sent=$sent lost=$((sent - rows)) sys_dropped=$sys_dropped log_dropped=${log_dropped:-0} dead_letters=$dead other_errors=$errors status=$STATUS bench: $OUT"
}

# ---- report --------------------------------------------------------------

# median QOS CONFIG KEY: the median of KEY over the runs that worked.
median() {
	awk -v q="q$1" -v c="$2" '$1 == q && $2 == c && !/failed=1/' "$RAW" |
		sed 's/ bench: .*//' | field "$3" | grep -v '^-$' | sort -g |
		awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-";
		      else if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_median QOS CONFIG KEY: the same of a key of the mqttbench line.
bench_median() {
	awk -v q="q$1" -v c="$2" '$1 == q && $2 == c && !/failed=1/' "$RAW" |
		sed 's/.* bench: //' | field "$3" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-";
		      else if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# total QOS CONFIG KEY: KEY added up over the runs ("-" values skipped).
total() {
	awk -v q="q$1" -v c="$2" '$1 == q && $2 == c' "$RAW" |
		sed 's/ bench: .*//' | field "$3" | grep -v '^-$' |
		awk '{ t += $1 } END { print t + 0 }'
}

fmt() {
	# shellcheck disable=SC2059
	if [ "$1" = - ]; then echo -; else printf "$2" "$1"; fi
}

row() {
	printf "%-52s %12s\n" "$1" "$(fmt "$2" "$3")"
}

report() {
	local q bare rows ratio
	echo
	echo "Rule-engine benchmark: $PUBS publishers x $COUNT messages, 64-byte payloads, loopback,"
	echo "  median of $RUNS runs (bare, table in turn), a fresh fieldmqd and database per run"
	echo "  fieldmqd: $("$DAEMON" -V 2>&1 | head -n 1); $(nproc) CPUs shared by fieldmqd and mqttbench"
	echo "  table readings on bench/#: publisher topic[1] (text), value payload (blob);"
	echo "  store defaults (batch_rows 1000, batch_time 50ms, synchronous normal, queue_rows 100000)"
	for q in $QOS; do
		bare=$(bench_median "$q" bare rate)
		rows=$(median "$q" table rows_rate)
		ratio=-
		if [ "$bare" != - ] && [ "$rows" != - ]; then
			ratio=$(awk -v a="$rows" -v b="$bare" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')
		fi
		echo
		echo "QoS $q"
		row "msg/s, no table (mqttbench rate)" "$bare" "%.0f"
		row "msg/s, with the table (mqttbench rate)" "$(bench_median "$q" table rate)" "%.0f"
		row "rows/s into the table (to the last commit)" "$rows" "%.0f"
		row "  seconds to the last commit" "$(median "$q" table rows_seconds)" "%.3f"
		row "  rows per run" "$(median "$q" table rows)" "%.0f"
		row "ratio rows/s / msg/s (no table)" "$ratio" "%s"
		row "messages published without a row, all runs" "$(total "$q" table lost)" "%s"
		row "  dropped, store queue full (\$SYS), all runs" "$(total "$q" table sys_dropped)" "%s"
		row "  dropped, last 'not written' log line, all runs" "$(total "$q" table log_dropped)" "%s"
		row "dead letters, all runs" "$(total "$q" table dead_letters)" "%s"
		row "mqttbench's subscriber: lost (no table + table)" \
		    "$(awk -v q="q$q" '$1 == q && !/failed=1/' "$RAW" |
		    sed 's/.* bench: //' | field lost |
		    awk '{ t += $1 } END { print t + 0 }')" "%s"
	done
	echo
	awk '/late=1/ { print "  committed only at the stop (late): " $0 }' "$RAW"
	awk '!/failed=1/ && / status=/ && !/ status=0( |$)/ { print "  fieldmqd did not exit 0: " $0 }' "$RAW"
	awk '/other_errors=[1-9]/ { print "  other errors in the log: " $0 }' "$RAW"
	awk '/failed=1/ { print "  failed: " $0 }' "$RAW"
}

# ---- main ----------------------------------------------------------------

[ -x "$FIELDMQD" ] || die "$FIELDMQD is missing (build it first)"
command -v sqlite3 >/dev/null || die "sqlite3 (the CLI) is missing"
command -v python3 >/dev/null || die "python3 is missing (the commit poller)"
command -v mosquitto_sub >/dev/null ||
	note "mosquitto_sub is missing: the \$SYS dropped counter is not read"
DAEMON=$TMP/fieldmqd
cp "$FIELDMQD" "$DAEMON"
build_mqttbench
write_poller

for q in $QOS; do
	for r in $(seq 1 "$RUNS"); do
		run_bare "$q" "$r"
		run_table "$q" "$r"
	done
done

report
# Slow is a figure; a failed run is not.
! grep -q 'failed=1' "$RAW"
