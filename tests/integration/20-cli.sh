#!/bin/bash
# The fieldmq tool against a running fieldmqd: `fieldmq query` (read-only
# SQL as CSV, JSON and a table; writes refused), `fieldmq tail`
# (following topics like mosquitto_sub -v) and `fieldmq status`.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_pub >/dev/null || fail "mosquitto-clients is needed"
port=$(free_port)
H=(-h 127.0.0.1 -p "$port")
broker_config "$port" "tables:
  - name: latest
    topic: plant/+/+
    key: [ device, tag ]
    columns: { device: \"topic[1]\", tag: \"topic[2]\", value: \"\$.value\" }" \
	>"$TMP/fieldmq.yaml"
start_fieldmqd "$TMP/fieldmq.yaml"

mosquitto_pub "${H[@]}" -q 1 -t plant/boiler/temp -m '{"value": 21.5}'
mosquitto_pub "${H[@]}" -q 1 -t plant/pump/flow -m '{"value": 7}'
mosquitto_pub "${H[@]}" -q 1 -t 'plant/odd, "name"/x' -m '{"value": "a,b"}'
out=$("$FIELDMQ" query -c "$TMP/fieldmq.yaml" -f csv \
	"SELECT device, tag, value FROM latest ORDER BY device") || fail "query: $out"
[ "$out" = 'device,tag,value
boiler,temp,21.5
"odd, ""name""",x,"a,b"
pump,flow,7' ] || fail "CSV: $out"
ok "fieldmq query -f csv: rows of a table fieldmqd is writing, quoted as CSV"

out=$("$FIELDMQ" query -d "$TMP/fieldmq.db" -f json \
	"SELECT device, value FROM latest WHERE tag = 'temp'")
[ "$out" = '{"device":"boiler","value":21.5}' ] || fail "JSON: $out"
out=$("$FIELDMQ" query -d "$TMP/fieldmq.db" -f table "SELECT count(*) AS n FROM latest")
echo "$out" | grep -q "^3 *$" && echo "$out" | grep -q "(1 row)" || fail "table: $out"
ok "fieldmq query -f json and -f table"

rc=0
"$FIELDMQ" query -d "$TMP/fieldmq.db" "DELETE FROM latest" 2>"$TMP/ro.err" || rc=$?
[ "$rc" = 1 ] && grep -qi "readonly\|read-only" "$TMP/ro.err" || fail "a write was not refused: $(cat "$TMP/ro.err")"
[ "$("$FIELDMQ" query -d "$TMP/fieldmq.db" -f csv 'SELECT count(*) FROM latest' | tail -1)" = 3 ] ||
	fail "rows were deleted"
rc=0
"$FIELDMQ" query -d "$TMP/fieldmq.db" "SELEC nothing" 2>"$TMP/syntax.err" || rc=$?
[ "$rc" = 1 ] && grep -q "syntax error" "$TMP/syntax.err" || fail "a bad query: $(cat "$TMP/syntax.err")"
ok "fieldmq query refuses writes and reports SQL errors (exit 1)"

"$FIELDMQ" tail -c "$TMP/fieldmq.yaml" -n 2 'plant/#' >"$TMP/tail.out" 2>&1 &
tail_pid=$!
track "$tail_pid"
i=0
while alive "$tail_pid" && ! [ -s "$TMP/tail.out" ]; do
	[ "$i" -lt 50 ] || break
	mosquitto_pub "${H[@]}" -t plant/probe/x -m probe
	sleep 0.2
	i=$((i + 1))
done
mosquitto_pub "${H[@]}" -t other/x -m not-followed
mosquitto_pub "${H[@]}" -t plant/boiler/temp -m '{"value":22}'
wait_exit "$tail_pid" 10
[ "$RC" = 0 ] || fail "fieldmq tail exited $RC: $(cat "$TMP/tail.out")"
grep -q '^plant/probe/x probe$' "$TMP/tail.out" || fail "tail: $(cat "$TMP/tail.out")"
! grep -q not-followed "$TMP/tail.out" || fail "tail printed a topic it does not follow"
ok "fieldmq tail -n 2 prints TOPIC PAYLOAD lines for its filter and exits after 2"
# status: from the daemon's $SYS topics (published every second here).
i=0
until "$FIELDMQ" status -c "$TMP/fieldmq.yaml" >"$TMP/status.out" 2>&1 &&
    grep -q "^table *latest *[1-9][0-9]* rows" "$TMP/status.out"; do
	[ "$i" -lt 50 ] || fail "status: $(cat "$TMP/status.out")"
	sleep 0.2
	i=$((i + 1))
done
grep -q "^broker *fieldmq .* at tcp://127.0.0.1:$port, up [0-9]* seconds" "$TMP/status.out" &&
    grep -q "^messages *[0-9]* in, [0-9]* out, 0 dropped" "$TMP/status.out" ||
	fail "status: $(cat "$TMP/status.out")"
ok "fieldmq status shows the broker, its message counts and the table's rows: $(grep '^table' "$TMP/status.out")"
stop_fieldmqd
rc=0
"$FIELDMQ" status -c "$TMP/fieldmq.yaml" >"$TMP/down.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "connect" "$TMP/down.out" || fail "status without a daemon: exit $rc: $(cat "$TMP/down.out")"
ok "fieldmq status without a running daemon says it cannot connect (exit 1)"
done_testing
