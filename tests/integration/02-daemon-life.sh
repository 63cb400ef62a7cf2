#!/bin/bash
# The daemon's life: READY=1 and watchdog pings to the service manager,
# SIGHUP with a bad file keeps the old config, SIGHUP with a good one
# applies it, SIGTERM stops within the bound with STOPPING=1 and status 0.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v socat >/dev/null || fail "socat is needed (apt-get install socat)"

cfg=$TMP/fieldmq.yaml
port=$(free_port)
port2=$(free_port)
cat > "$cfg" <<YAML
log_level: info
shutdown_timeout: 5s
store: { path: $TMP/fieldmq.db }
broker:
  listeners: [ { port: $port } ]
YAML

# A stand-in for systemd's notification socket.
socat -u UNIX-RECV:"$TMP/notify.sock" OPEN:"$TMP/notify.out",creat,append &
track $!
for _ in $(seq 100); do [ -S "$TMP/notify.sock" ] && break; sleep 0.05; done
[ -S "$TMP/notify.sock" ] || fail "the notify socket did not appear"

NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=200000 \
	"$FIELDMQD" -c "$cfg" 2>"$TMP/fieldmqd.log" &
pid=$!
track $pid

wait_for_match "$TMP/fieldmqd.log" "fieldmqd: started .*$cfg: 1 listener"
wait_for_match "$TMP/notify.out" "READY=1"
ok "fieldmqd starts and tells the service manager READY=1"

wait_for_match "$TMP/notify.out" "WATCHDOG=1"
grep -q "watchdog: pinging every 100 ms" "$TMP/fieldmqd.log" ||
	fail "no watchdog log line"
ok "WATCHDOG=1 pings at half the watchdog interval"

# A bad file: every error is logged and the daemon keeps running.
cp "$cfg" "$TMP/good.yaml"
cat > "$cfg" <<YAML
log_level: debug
broker:
  listeners: [ { port: 99999 } ]
  max_qeued_messages: 10
YAML
kill -HUP "$pid"
wait_for_match "$TMP/fieldmqd.log" "reload refused: 2 errors: still running on the previous configuration"
grep -q "config: $cfg:3:24: broker.listeners\[0\].port: \"99999\" is not an integer from 1 to 65535" "$TMP/fieldmqd.log" ||
	fail "the reload errors were not logged with their position"
grep -q "config: $cfg:4:3: broker.max_qeued_messages: unknown key (did you mean \"max_queued_messages\"?)" "$TMP/fieldmqd.log" ||
	fail "the second reload error was not logged"
alive "$pid" || fail "fieldmqd died on a bad reload"
ok "SIGHUP with a bad file logs every error and keeps running"

# A good file: applied (log_level debug takes effect).
cat > "$cfg" <<YAML
log_level: debug
shutdown_timeout: 5s
store: { path: $TMP/fieldmq.db }
broker:
  listeners: [ { port: $port }, { port: $port2 } ]
YAML
kill -HUP "$pid"
wait_for_match "$TMP/fieldmqd.log" "config: reloaded: 2 listeners"
grep -q "RELOADING=1" "$TMP/notify.out" || fail "no RELOADING=1"
ok "SIGHUP with a good file applies it"

kill -TERM "$pid"
wait_exit "$pid" 10
[ "$RC" = 0 ] || fail "exit status $RC after SIGTERM, want 0"
grep -q "stopping: SIGTERM" "$TMP/fieldmqd.log" || fail "no stop log line"
grep -q "fieldmqd: stopped after" "$TMP/fieldmqd.log" || fail "no stopped line"
wait_for_match "$TMP/notify.out" "STOPPING=1" 2
ok "SIGTERM stops with STOPPING=1 and exit status 0"

# SIGINT too, and --log-level wins over the file's log_level.
socat -u UNIX-RECV:"$TMP/notify2.sock" OPEN:"$TMP/notify2.out",creat,append &
track $!
for _ in $(seq 100); do [ -S "$TMP/notify2.sock" ] && break; sleep 0.05; done
NOTIFY_SOCKET=$TMP/notify2.sock "$FIELDMQD" -c "$cfg" --log-level warn 2>"$TMP/quiet.log" &
pid=$!
track $pid
wait_for_match "$TMP/notify2.out" "READY=1"
kill -INT "$pid"
wait_exit "$pid" 10
[ "$RC" = 0 ] || fail "exit status $RC after SIGINT, want 0"
! grep -q " info " "$TMP/quiet.log" || fail "--log-level warn still logged info lines"
ok "SIGINT stops too; --log-level overrides the file"

done_testing
