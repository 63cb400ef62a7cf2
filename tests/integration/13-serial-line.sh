#!/bin/bash
# A serial-line sensor through a socat pty pair: lines matched by a
# pattern with named groups become readings; a line that does not match is
# ignored; the port disappearing gives one offline state message.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v socat >/dev/null || fail "socat is needed"
command -v mosquitto_sub >/dev/null || fail "mosquitto-clients is needed"
port=$(free_port)
socat -d -d pty,raw,echo=0 pty,raw,echo=0 2>"$TMP/socat.log" &
socat=$!
track $socat
for _ in $(seq 50); do
	[ "$(grep -c 'PTY is' "$TMP/socat.log")" -ge 2 ] && break
	sleep 0.1
done
pty1=$(sed -n 's/.*PTY is \(.*\)/\1/p' "$TMP/socat.log" | sed -n 1p)
pty2=$(sed -n 's/.*PTY is \(.*\)/\1/p' "$TMP/socat.log" | sed -n 2p)
[ -n "$pty2" ] || fail "socat gave no pty pair"

cat >"$TMP/fieldmq.yaml" <<YAML
store: { path: $TMP/fieldmq.db }
broker:
  listeners: [ { port: $port } ]
devices:
  - name: weather
    driver: serial-line
    serial: $pty2
    baud: 9600
    pattern: "T=(?<temperature>-?[0-9.]+) H=(?<humidity>[0-9]+) ID=(?<station>[A-Z0-9]+)"
    tags:
      - { name: humidity, scale: 0.01, unit: ratio }
YAML
start_fieldmqd "$TMP/fieldmq.yaml"
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'plant/#' -v >"$TMP/sub.out" &
track $!
await_subscriber "$port" "$TMP/sub.out" plant/probe

exec 3>"$pty1"
printf 'garbage that does not match\r\n' >&3
printf 'T=21.5 H=40 ID=S1\r\n' >&3
wait_for_match "$TMP/sub.out" '^plant/weather/temperature \{"value":21.5,"ts":[0-9]+,"quality":"good"\}$'
wait_for_match "$TMP/sub.out" '^plant/weather/humidity \{"value":0.4,'
wait_for_match "$TMP/sub.out" '^plant/weather/station \{"value":"S1",'
wait_for_match "$TMP/sub.out" '^plant/weather/\$state \{"state":"online",'
! grep -q garbage "$TMP/sub.out" || fail "a line that does not match was published"
ok "matched lines become readings (named groups, numbers, text, a tag's scale)"

exec 3>&-
kill $socat
wait_exit $socat 5
wait_for_match "$TMP/sub.out" '^plant/weather/\$state \{"state":"offline","reason":'
sleep 2
[ "$(grep -c '"state":"offline"' "$TMP/sub.out")" = 1 ] || fail "offline published more than once"
ok "the port disappearing gives one offline state message"
stop_fieldmqd
done_testing
