# Shared helpers for the integration tests: a temporary directory, free
# ports, bounded waits for a log line or a file, and processes stopped by
# PID when the test ends, whatever happens.
set -eu

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
FIELDMQD=$top_builddir/fieldmqd
FIELDMQ=$top_builddir/fieldmq
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fieldmq-test.XXXXXX")
PIDS=""
STEP=0

cleanup() {
	for p in $PIDS; do
		{ kill -9 "$p" && wait "$p"; } 2>/dev/null || true
	done
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $TMP"
	else
		# A process that was just killed may still be writing there.
		rm -rf "$TMP" 2>/dev/null || { sleep 1; rm -rf "$TMP"; }
	fi
}
trap cleanup EXIT

# fail MESSAGE: prints what went wrong (and the daemon's log) and exits 1.
fail() {
	echo "not ok - $*"
	for f in "$TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "# --- $f (last 30 lines)"
		tail -n 30 "$f" | sed 's/^/# /'
	done
	exit 1
}

# ok MESSAGE: one passed check.
ok() {
	STEP=$((STEP + 1))
	echo "ok $STEP - $*"
}

# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
	"$top_builddir/tests/tools/freeport"
}

# track PID: the process is killed when the test ends.
track() {
	PIDS="$PIDS $1"
}

# wait_for_file_match FILE REGEX [SECONDS]: waits until a line of FILE matches.
wait_for_match() {
	local file=$1 re=$2 limit=${3:-10} i=0
	while [ "$i" -lt $((limit * 20)) ]; do
		if [ -f "$file" ] && grep -qE -- "$re" "$file"; then
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	fail "timed out after ${limit}s waiting for /$re/ in $file"
}

# wait_exit PID [SECONDS]: waits for a child to end; its exit status goes to RC.
wait_exit() {
	local pid=$1 limit=${2:-10} i=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$i" -ge $((limit * 20)) ]; then
			fail "process $pid still running after ${limit}s"
		fi
		# A zombie child counts as ended.
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then
			break
		fi
		sleep 0.05
		i=$((i + 1))
	done
	RC=0
	wait "$pid" || RC=$?
}

# alive PID: true while the process runs (and is not a zombie).
alive() {
	kill -0 "$1" 2>/dev/null &&
		[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# done_testing: the plain summary line.
done_testing() {
	echo "# $STEP checks passed"
}

# start_fieldmqd CONFIG [ARGS...]: starts the daemon in the background
# (log in $TMP/fieldmqd.log, pid in FIELDMQD_PID) and waits until it runs.
start_fieldmqd() {
	local cfg=$1
	shift
	: >"$TMP/fieldmqd.log"
	"$FIELDMQD" -c "$cfg" "$@" 2>>"$TMP/fieldmqd.log" &
	FIELDMQD_PID=$!
	track "$FIELDMQD_PID"
	wait_for_match "$TMP/fieldmqd.log" "fieldmqd: started|not starting"
	alive "$FIELDMQD_PID" || fail "fieldmqd did not start"
}

# stop_fieldmqd: SIGTERM, and a bounded wait for a clean exit.
stop_fieldmqd() {
	kill -TERM "$FIELDMQD_PID"
	wait_exit "$FIELDMQD_PID" 10
	[ "$RC" = 0 ] || fail "fieldmqd exited with status $RC"
}

# broker_config PORT [EXTRA YAML LINES]: a minimal config on PORT.
broker_config() {
	cat <<YAML
log_level: info
store: { path: $TMP/fieldmq.db }
broker:
  sys_interval: 1s
  listeners:
    - { port: $1 }
${2:-}
YAML
}

# count_lines FILE: the number of lines in FILE (0 if missing).
count_lines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# await_subscriber PORT OUTFILE TOPIC: publishes "probe" on TOPIC until a
# subscriber writing OUTFILE (with -v) shows it: its subscription is live.
await_subscriber() {
	local port=$1 out=$2 topic=$3 i=0
	while ! grep -q "^$topic probe$" "$out" 2>/dev/null; do
		[ "$i" -lt 50 ] || fail "the subscriber for $topic never became ready"
		mosquitto_pub -h 127.0.0.1 -p "$port" -t "$topic" -m probe
		sleep 0.2
		i=$((i + 1))
	done
}
