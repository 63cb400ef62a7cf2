#!/bin/bash
# The rule engine as a user sees it: messages published with
# mosquitto_pub become rows that sqlite3 reads while fieldmqd runs;
# where:, latest-value tables, dead letters, retention, the counters on
# $SYS, and a mapping change across a restart (added columns are added, a
# conflicting one is refused and nothing is rewritten).
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_pub >/dev/null || fail "mosquitto-clients is needed"
command -v sqlite3 >/dev/null || fail "sqlite3 is needed"
port=$(free_port)
H=(-h 127.0.0.1 -p "$port")
DB=$TMP/fieldmq.db

# q SQL: a query with the sqlite3 tool, as a user would run it.
q() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$1"
}

# wait_rows SQL WANT: waits (bounded) until the query prints WANT.
wait_rows() {
	local i=0 got=""
	while [ "$i" -lt 100 ]; do
		got=$(q "$1" 2>/dev/null || true)
		[ "$got" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "$1: got '$got', want '$2'"
}

tables() {
	cat <<YAML
tables:
  - name: readings
    topic: [ "plant/+/+" ]
    where: quality == "good"
    columns:
      device: "topic[1]"
      tag: "topic[2]"
      value: { from: "\$.value", type: real, not_null: true }
      ts: { from: "\$.ts", type: timestamp }
      at: received_at
      publisher: client_id
      qos: qos
${1:-}
  - name: latest
    topic: plant/+/+
    key: [ device, tag ]
    columns:
      device: "topic[1]"
      tag: "topic[2]"
      value: "\$.value"
  - name: "order"
    topic: [ "raw/#", "raw/+/x" ]
    columns:
      "group": topic
      body: { from: payload, type: blob }
      retained: retain
  - name: recent
    topic: ring/#
    max_rows: 5
    columns: { n: "\$.n" }
  - name: short
    topic: short/#
    keep: 1s
    columns: { n: "\$.n", at: received_at }
  - name: steady
    topic: steady/#
    max_rows: 2000
    columns: { n: "\$.n", pad: "\$.pad" }
YAML
}

broker_config "$port" "$(tables)" >"$TMP/fieldmq.yaml"
start_fieldmqd "$TMP/fieldmq.yaml"
wait_for_match "$TMP/fieldmqd.log" "rules\[latest\]: 3 columns from 1 topic filter, latest value per key"

mosquitto_pub "${H[@]}" -i meter-1 -q 0 -t plant/boiler/temp \
	-m '{"value": 21.5, "ts": 1764000000000, "quality": "good"}'
mosquitto_pub "${H[@]}" -i meter-1 -q 1 -t plant/boiler/temp \
	-m '{"value": "22.5", "ts": "2026-11-25T10:00:00Z", "quality": "good"}'
mosquitto_pub "${H[@]}" -i meter-2 -q 2 -t plant/pump/flow \
	-m '{"value": 7, "quality": "good"}'
mosquitto_pub "${H[@]}" -q 1 -t plant/boiler/temp -m '{"value": 99, "quality": "bad"}'
wait_rows "SELECT count(*) FROM readings" 3
wait_rows "SELECT device, tag, value, ts, publisher, qos FROM readings ORDER BY rowid" \
"boiler|temp|21.5|1764000000000|meter-1|0
boiler|temp|22.5|1795600800000|meter-1|1
pump|flow|7.0||meter-2|2"
ok "history rows with topic levels, JSON values converted to their column types, client id and QoS, read with sqlite3 while fieldmqd runs"
[ "$(q "SELECT count(*) FROM readings WHERE value = 99")" = 0 ] ||
	fail "a message with quality bad passed where:"
[ "$(q "SELECT typeof(value), typeof(ts), typeof(at) FROM readings LIMIT 1")" = "real|integer|integer" ] ||
	fail "column types: $(q "SELECT typeof(value), typeof(ts), typeof(at) FROM readings LIMIT 1")"
ok "where: quality == \"good\" filters; values are stored with the declared types"

wait_rows "SELECT device, tag, value FROM latest ORDER BY device" \
"boiler|temp|99
pump|flow|7"
mosquitto_pub "${H[@]}" -t plant/boiler/temp -m '{"value": 100.25, "quality": "good"}'
wait_rows "SELECT count(*), max(value) FROM latest WHERE device = 'boiler'" "1|100.25"
ok "a latest-value table keeps one row per key, updated in place"

# Payloads that do not fit: each one a dead letter with a reason.
mosquitto_pub "${H[@]}" -t plant/boiler/temp -m 'not json'
mosquitto_pub "${H[@]}" -t plant/boiler/temp -m '{"quality": "good"}'
mosquitto_pub "${H[@]}" -t plant/boiler/temp -m '{"value": "warm", "quality": "good"}'
wait_rows "SELECT count(*) FROM dead_letters WHERE table_name = 'readings'" 3
q "SELECT reason FROM dead_letters WHERE table_name = 'readings' ORDER BY id" >"$TMP/reasons"
grep -q "payload is not JSON" "$TMP/reasons" || fail "reasons: $(cat "$TMP/reasons")"
grep -q "column value: \$.value is missing (not_null)" "$TMP/reasons" ||
	fail "reasons: $(cat "$TMP/reasons")"
grep -q 'column value: $.value "warm" does not convert to real' "$TMP/reasons" ||
	fail "reasons: $(cat "$TMP/reasons")"
[ "$(q "SELECT topic, payload FROM dead_letters ORDER BY id LIMIT 1")" = "plant/boiler/temp|not json" ] ||
	fail "the dead letter does not keep the topic and payload"
wait_for_match "$TMP/fieldmqd.log" "rules\[readings\]: [0-9]+ messages? went to dead_letters"
alive "$FIELDMQD_PID" || fail "fieldmqd died on bad payloads"
ok "payloads that do not fit go to dead_letters with the topic, the payload and the reason, and are logged"

# Names that are SQL keywords, values that look like SQL, binary payloads.
mosquitto_pub "${H[@]}" -t "raw/x'); DROP TABLE readings; --/x" -m "'); DROP TABLE latest; --"
printf '\x00\xff\xfe binary' | mosquitto_pub "${H[@]}" -r -t raw/bin -s
wait_rows "SELECT count(*) FROM \"order\"" 2
[ "$(q "SELECT \"group\", CAST(body AS TEXT) FROM \"order\" ORDER BY rowid LIMIT 1")" = \
  "raw/x'); DROP TABLE readings; --/x|'); DROP TABLE latest; --" ] ||
	fail "SQL-like text was not stored verbatim"
[ "$(q "SELECT hex(body), retained FROM \"order\" WHERE \"group\" = 'raw/bin'")" = \
  "00FFFE2062696E617279|1" ] || fail "binary payload: $(q "SELECT hex(body) FROM \"order\"")"
[ "$(q "SELECT count(*) FROM readings") $(q "SELECT count(*) FROM latest")" = "4 2" ] ||
	fail "the other tables changed: $(q "SELECT count(*) FROM readings") $(q "SELECT count(*) FROM latest")"
ok "a table named order with a column group works; SQL-like topics and payloads are stored verbatim; binary payloads as blobs with the retain flag"

for i in $(seq 1 12); do
	mosquitto_pub "${H[@]}" -t ring/x -m "{\"n\": $i}"
done
wait_rows "SELECT group_concat(n) FROM (SELECT n FROM recent ORDER BY rowid)" "8,9,10,11,12"
mosquitto_pub "${H[@]}" -t short/x -m '{"n": 1}'
wait_rows "SELECT count(*) FROM short" 1
wait_rows "SELECT count(*) FROM short" 0
ok "retention: max_rows keeps the newest rows, keep deletes rows older than it"

# At steady state (as many rows deleted as written) the file stops growing.
pad=$(head -c 200 /dev/zero | tr '\0' y)
round() {
	seq "$1" "$2" | sed "s/.*/{\"n\": &, \"pad\": \"$pad\"}/" |
		mosquitto_pub "${H[@]}" -q 1 -t steady/x -l
	wait_rows "SELECT count(*), max(n) FROM steady" "2000|$2" 100
}
round 1 6000
round 6001 12000
pages1=$(q 'PRAGMA page_count')
round 12001 18000
round 18001 24000
round 24001 30000
pages2=$(q 'PRAGMA page_count')
[ "$pages2" -le $((pages1 + pages1 / 5)) ] ||
	fail "the file grew at steady state: $pages1 -> $pages2 pages"
ok "with max_rows the database stops growing: $pages1 pages after 12000 rows, $pages2 after 30000"

mosquitto_sub "${H[@]}" -t '$SYS/fieldmq/tables/readings' -C 1 -W 5 >"$TMP/stats" ||
	fail "no \$SYS/fieldmq/tables/readings"
grep -q '"rows":4,"filtered":1,"dead_letters":3,"dropped":0' "$TMP/stats" ||
	fail "stats: $(cat "$TMP/stats")"
ok "the table's counters on \$SYS/fieldmq/tables/readings: $(cat "$TMP/stats")"

# A reader holding a read transaction does not stop the writer.
sqlite3 "$DB" >/dev/null <<'SQL' &
BEGIN;
SELECT count(*) FROM readings;
.shell sleep 2
COMMIT;
SQL
reader=$!
track "$reader"
sleep 0.3
mosquitto_pub "${H[@]}" -t plant/boiler/temp -m '{"value": 1, "quality": "good"}'
wait_rows "SELECT count(*) FROM readings" 5
alive "$reader" || fail "the reader ended too early for the check"
wait_exit "$reader" 10
ok "rows keep coming while another process holds a read transaction"

# A retained message is written once, not again at each start.
mosquitto_pub "${H[@]}" -r -t plant/tank/level -m '{"value": 3, "quality": "good"}'
wait_rows "SELECT count(*) FROM readings WHERE device = 'tank'" 1
stop_fieldmqd

# Restart with one more column: it is added; rows already there keep theirs.
broker_config "$port" "$(tables '      unit: { from: "$.unit", type: text }')" >"$TMP/fieldmq.yaml"
start_fieldmqd "$TMP/fieldmq.yaml"
mosquitto_pub "${H[@]}" -t plant/boiler/temp -m '{"value": 5, "unit": "°C", "quality": "good"}'
wait_rows "SELECT count(*) FROM readings" 7
[ "$(q "SELECT count(*) FROM readings WHERE device = 'tank'")" = 1 ] ||
	fail "the retained message was written again at the start"
[ "$(q "SELECT value, unit FROM readings ORDER BY rowid DESC LIMIT 1")" = "5.0|°C" ] ||
	fail "new column: $(q "SELECT value, unit FROM readings ORDER BY rowid DESC LIMIT 1")"
[ "$(q "SELECT count(*) FROM readings WHERE unit IS NULL")" = 6 ] ||
	fail "old rows changed"
ok "a mapping that adds a column adds it at the next start; old rows are kept as they were; retained messages are not written twice"
stop_fieldmqd

# A conflicting mapping (value becomes text) is refused: nothing is touched.
before=$(q "SELECT count(*) FROM readings")
broker_config "$port" "$(tables)" | sed 's/type: real, not_null: true/type: text/' >"$TMP/conflict.yaml"
"$FIELDMQD" -c "$TMP/conflict.yaml" 2>"$TMP/conflict.log" && fail "fieldmqd started on a conflicting mapping"
grep -q "table readings: column value is declared REAL in the database but the mapping makes it text" \
	"$TMP/conflict.log" || fail "the refusal does not say what: $(cat "$TMP/conflict.log")"
[ "$(q "SELECT count(*) FROM readings") $(q "SELECT type FROM pragma_table_info('readings') WHERE name = 'value'")" = "$before REAL" ] ||
	fail "the table was changed"
ok "a mapping that conflicts with the table is refused at start-up with the table and column named, and nothing changes"

[ "$(q 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
ok "the database passes integrity_check"
done_testing
