#!/bin/bash
# The cloud bridge with a real mosquitto as the cloud: forward and
# subscribe rules with topic rewriting, no loops, and store-and-forward:
# messages published while the cloud is down wait in the SQLite outbox
# (a QoS 1 publisher is acknowledged once its row is committed), survive
# kill -9 of fieldmqd, and all reach the cloud in order once it is back.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto >/dev/null || fail "mosquitto is needed"
command -v sqlite3 >/dev/null || fail "sqlite3 is needed"
port=$(free_port)
cloud=$(free_port)
H=(-h 127.0.0.1 -p "$port")
C=(-h 127.0.0.1 -p "$cloud")
mkdir "$TMP/cloud"
cat >"$TMP/cloud.conf" <<CONF
listener $cloud 127.0.0.1
allow_anonymous true
persistence true
persistence_location $TMP/cloud/
max_queued_messages 0
user root
CONF
start_cloud() {
	mosquitto -c "$TMP/cloud.conf" >>"$TMP/cloud.log" 2>&1 &
	CLOUD_PID=$!
	track "$CLOUD_PID"
	local i=0
	until (exec 3<>/dev/tcp/127.0.0.1/"$cloud") 2>/dev/null; do
		[ "$i" -lt 100 ] || fail "mosquitto did not start: $(cat "$TMP/cloud.log")"
		sleep 0.05
		i=$((i + 1))
	done
}
outbox() {
	sqlite3 -cmd '.timeout 5000' "$TMP/fieldmq.db" "SELECT count(*) FROM outbox"
}
start_cloud
broker_config "$port" "bridges:
  - name: cloud
    url: tcp://127.0.0.1:$cloud
    backoff_min: 1s
    backoff_max: 1s
    forward:
      - { from: \"plant/#\", to: \"site1/\", qos: 1 }
      - { from: \"cmd/#\", to: \"site1/echo/\", qos: 1 }
    subscribe:
      - { from: \"site1/cmd/#\", to: \"cmd/\", qos: 1 }" >"$TMP/fieldmq.yaml"
start_fieldmqd "$TMP/fieldmq.yaml"
wait_for_match "$TMP/fieldmqd.log" "bridge\[cloud\]: connected to tcp://127.0.0.1:$cloud"

# A persistent session at the cloud that will queue what arrives while away.
mosquitto_sub "${C[@]}" -i cloudsub -c -q 1 -t 'site1/boiler/ready' \
	-t 'site1/line/count' -v -C 1 -W 10 >"$TMP/first" &
sub=$!
track "$sub"
i=0
until grep -q "^site1/boiler/ready x$" "$TMP/first" 2>/dev/null; do
	[ "$i" -lt 50 ] || fail "nothing forwarded to the cloud: $(cat "$TMP/first")"
	mosquitto_pub "${H[@]}" -q 1 -t plant/boiler/ready -m x
	sleep 0.2
	i=$((i + 1))
done
wait_exit "$sub" 5
ok "forward: plant/boiler/ready published locally arrives at the cloud as site1/boiler/ready"

mosquitto_sub "${H[@]}" -t 'cmd/#' -v -C 1 -W 10 >"$TMP/local" &
lsub=$!
track "$lsub"
sleep 0.5
mosquitto_pub "${C[@]}" -q 1 -t site1/cmd/boiler/set -m 50
wait_exit "$lsub" 10
[ "$(cat "$TMP/local")" = "cmd/boiler/set 50" ] || fail "subscribe: $(cat "$TMP/local")"
mosquitto_sub "${C[@]}" -t 'site1/echo/#' -v -W 2 >"$TMP/echo" 2>/dev/null || true
! [ -s "$TMP/echo" ] || fail "a message from the cloud went back out: $(cat "$TMP/echo")"
ok "subscribe: site1/cmd/boiler/set at the cloud arrives locally as cmd/boiler/set, and is not forwarded back out"

# The cloud goes away; 2000 QoS 1 messages wait in the outbox.
kill -TERM "$CLOUD_PID"
wait_exit "$CLOUD_PID" 10
wait_for_match "$TMP/fieldmqd.log" "bridge\[cloud\]: connection to .* lost"
seq 1 2000 >"$TMP/seq"
mosquitto_pub "${H[@]}" -q 1 -t plant/line/count -l <"$TMP/seq" ||
	fail "local publishers are held up while the cloud is away"
[ "$(outbox)" = 2000 ] || fail "outbox rows: $(outbox)"
i=0
until "$FIELDMQ" status -c "$TMP/fieldmq.yaml" 2>&1 | tee "$TMP/status" |
    grep -q "^bridge *cloud *DISCONNECTED  outbox 2000 rows"; do
	[ "$i" -lt 50 ] || fail "status: $(cat "$TMP/status")"
	sleep 0.2
	i=$((i + 1))
done
ok "cloud down: 2000 QoS 1 messages are acknowledged locally and wait in the outbox; fieldmq status: $(grep '^bridge' "$TMP/status")"

kill -9 "$FIELDMQD_PID"
wait_exit "$FIELDMQD_PID" 5
[ "$(outbox)" = 2000 ] || fail "outbox rows after kill -9: $(outbox)"
start_fieldmqd "$TMP/fieldmq.yaml"
start_cloud
wait_for_match "$TMP/fieldmqd.log" "bridge\[cloud\]: connected to" 15
i=0
until [ "$(outbox)" = 0 ]; do
	[ "$i" -lt 300 ] || fail "the outbox does not drain: $(outbox) rows left"
	sleep 0.1
	i=$((i + 1))
done
mosquitto_sub "${C[@]}" -i cloudsub -c -q 1 -t 'site1/line/count' -C 2000 -W 20 \
	>"$TMP/got" || fail "the cloud subscriber got $(wc -l <"$TMP/got") of 2000"
awk '!seen[$0]++' "$TMP/got" >"$TMP/uniq"
cmp -s "$TMP/uniq" "$TMP/seq" ||
	fail "not every message, or not in order: $(diff "$TMP/seq" "$TMP/uniq" | head -5)"
ok "after kill -9 of fieldmqd and the cloud's return: all 2000 arrive in order ($(($(wc -l <"$TMP/got") - 2000)) duplicates), the outbox is empty"
i=0
until "$FIELDMQ" status -c "$TMP/fieldmq.yaml" 2>&1 | tee "$TMP/status" |
    grep -q "^bridge *cloud *connected *outbox 0 rows"; do
	[ "$i" -lt 50 ] || fail "status: $(cat "$TMP/status")"
	sleep 0.2
	i=$((i + 1))
done
ok "fieldmq status: $(grep '^bridge' "$TMP/status")"
stop_fieldmqd
done_testing
