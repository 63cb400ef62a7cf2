#!/bin/bash
# Passwords and ACLs with real clients: a password file written by
# `fieldmq passwd` and by mosquitto_passwd, anonymous clients, wrong
# passwords (logged at a bounded rate), an ACL file in mosquitto's format
# applied to PUBLISH, SUBSCRIBE, retained messages and wills, both files
# reloaded on SIGHUP with clients staying connected, the in-process rule
# engine outside the ACL, and the defaults on a non-loopback address.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v mosquitto_pub >/dev/null || fail "mosquitto-clients is needed"
port=$(free_port)
H=(-h 127.0.0.1 -p "$port")
PW=$TMP/passwd
ACL=$TMP/acl

echo "alice-secret" | "$FIELDMQ" passwd "$PW" alice >/dev/null || fail "fieldmq passwd"
[ "$(stat -c %a "$PW")" = 600 ] || fail "the password file is not 0600"
if command -v mosquitto_passwd >/dev/null; then
	mosquitto_passwd -b "$PW" bob builder || fail "mosquitto_passwd on our file"
else
	echo "bob-builder" | "$FIELDMQ" passwd "$PW" bob >/dev/null
fi
cat >"$ACL" <<'ACL'
user alice
topic readwrite plant/#
topic deny plant/hr/#
topic write alarms/alice
user bob
topic read plant/line1/+
topic read alarms/#
pattern write status/%u
ACL
cat >"$TMP/fieldmq.yaml" <<YAML
log_level: info
store: { path: $TMP/fieldmq.db }
broker:
  password_file: $PW
  acl_file: $ACL
  allow_anonymous: false
  listeners:
    - { port: $port }
tables:
  - name: everything
    topic: "#"
    columns: { topic: topic, body: payload }
YAML
start_fieldmqd "$TMP/fieldmq.yaml"
wait_for_match "$TMP/fieldmqd.log" "passwd: 2 users"
A=(-u alice -P alice-secret)
B=(-u bob -P builder)
command -v mosquitto_passwd >/dev/null || B=(-u bob -P bob-builder)

rc=0; mosquitto_pub "${H[@]}" -t plant/x -m anon 2>/dev/null || rc=$?
[ "$rc" = 5 ] || fail "an anonymous client: exit $rc, want 5 (not authorised)"
rc=0; mosquitto_pub "${H[@]}" -u alice -P wrong -t plant/x -m x 2>/dev/null || rc=$?
[ "$rc" = 4 ] || fail "a wrong password: exit $rc, want 4 (bad username or password)"
rc=0; mosquitto_pub "${H[@]}" -u nobody -P x -t plant/x -m x 2>/dev/null || rc=$?
[ "$rc" = 4 ] || fail "an unknown user: exit $rc, want 4"
mosquitto_pub "${H[@]}" "${A[@]}" -t plant/x -m ok || fail "alice cannot log in"
mosquitto_pub "${H[@]}" "${B[@]}" -t status/bob -m ok || fail "bob (mosquitto_passwd) cannot log in"
wait_for_match "$TMP/fieldmqd.log" 'failed login from 127\.0\.0\.1:[0-9]+ as "alice": bad username or password'
ok "passwords: anonymous refused (5), wrong password and unknown user refused (4) and logged with the address; users from fieldmq passwd and mosquitto_passwd log in"

for i in $(seq 1 15); do
	mosquitto_pub "${H[@]}" -u alice -P "wrong$i" -t x -m x 2>/dev/null || true
done
n=$(grep -c "failed login from" "$TMP/fieldmqd.log")
[ "$n" -le 10 ] || fail "$n failed logins logged in a minute (at most 10)"
ok "failed logins are logged at a bounded rate ($n lines for 18 failures)"

# ACL: what each user may read and write.
mosquitto_sub "${H[@]}" "${B[@]}" -t "#" -v -W 60 >"$TMP/bob.out" &
sub=$!
track "$sub"
i=0
until grep -q "^plant/line1/ready x$" "$TMP/bob.out" 2>/dev/null; do
	[ "$i" -lt 50 ] || fail "bob's subscription never became ready"
	mosquitto_pub "${H[@]}" "${A[@]}" -t plant/line1/ready -m x
	sleep 0.2
	i=$((i + 1))
done
mosquitto_pub "${H[@]}" "${A[@]}" -q 1 -t plant/line2/temp -m not-for-bob
mosquitto_pub "${H[@]}" "${A[@]}" -q 1 -t plant/hr/salary -m denied-write
mosquitto_pub "${H[@]}" "${B[@]}" -q 1 -t plant/line1/temp -m bob-may-not-write
mosquitto_pub "${H[@]}" "${A[@]}" -q 1 -t alarms/alice -m alarm
mosquitto_pub "${H[@]}" "${A[@]}" -q 1 -t plant/line1/temp -m 21.5
i=0
until grep -q "^plant/line1/temp 21.5$" "$TMP/bob.out"; do
	[ "$i" -lt 50 ] || fail "bob did not get plant/line1/temp"
	sleep 0.1
	i=$((i + 1))
done
grep -q "^alarms/alice alarm$" "$TMP/bob.out" || fail "bob did not get the alarm"
! grep -q "not-for-bob\|denied-write\|bob-may-not-write" "$TMP/bob.out" ||
	fail "the ACL let through: $(cat "$TMP/bob.out")"
ok "publish and delivery: a '#' subscriber gets only what it may read; denied publishes go nowhere"

mosquitto_sub "${H[@]}" "${B[@]}" -t 'plant/line2/#' -C 1 -W 2 >"$TMP/denied.out" 2>&1 || true
grep -q "denied" "$TMP/denied.out" || fail "a subscription bob may not read was granted: $(cat "$TMP/denied.out")"
ok "SUBSCRIBE to a filter with nothing readable gets 0x80"

mosquitto_pub "${H[@]}" "${A[@]}" -r -q 1 -t plant/line2/state -m retained-secret
mosquitto_sub "${H[@]}" "${B[@]}" -t 'plant/+/+' -v -W 1 >"$TMP/ret.out" 2>/dev/null || true
! grep -q retained-secret "$TMP/ret.out" || fail "a retained message bob may not read reached him"
rc=0; mosquitto_pub "${H[@]}" "${B[@]}" --will-topic plant/line1/will --will-payload x \
	-t status/bob -m x 2>/dev/null || rc=$?
[ "$rc" = 5 ] || fail "a will on a topic bob may not write: exit $rc, want 5"
ok "retained messages are filtered by the ACL; a will on a forbidden topic refuses the CONNECT (5)"

[ "$(sqlite3 "$TMP/fieldmq.db" "SELECT count(*) FROM everything WHERE topic = 'plant/line2/temp'")" = 1 ] ||
	fail "the rule engine (an in-process client) was held to the ACL"
ok "in-process clients (the rule engine) are not subject to the ACL"

# Reload: a new user and a new rule, without dropping bob.
echo "carol-pw" | "$FIELDMQ" passwd "$PW" carol >/dev/null
printf 'user carol\ntopic readwrite lab/#\n' >>"$ACL"
printf 'user bob\ntopic read lab/#\n' >>"$ACL"
kill -HUP "$FIELDMQD_PID"
wait_for_match "$TMP/fieldmqd.log" "passwd: 3 users"
mosquitto_pub "${H[@]}" -u carol -P carol-pw -q 1 -t lab/result -m 42 ||
	fail "carol cannot log in after the reload"
i=0
until grep -q "^lab/result 42$" "$TMP/bob.out"; do
	[ "$i" -lt 50 ] || fail "bob (connected before the reload) did not get lab/result"
	sleep 0.1
	i=$((i + 1))
done
alive "$sub" || fail "bob's connection ended"
ok "SIGHUP reloads the password and ACL files: a new user logs in, a connected client stays and gets what the new rules allow"

echo "bad line" >>"$PW"
kill -HUP "$FIELDMQD_PID"
wait_for_match "$TMP/fieldmqd.log" "reload: .*passwd:[0-9]+: .*keeping the password and ACL files loaded before"
mosquitto_pub "${H[@]}" -u carol -P carol-pw -t lab/x -m still || fail "a bad reload broke logins"
ok "a broken password file at a reload is reported with its line, and the loaded files stay"
stop_fieldmqd

"$FIELDMQD" -c "$TMP/fieldmq.yaml" 2>"$TMP/bad.log" && fail "started with a broken password file"
grep -q "passwd:[0-9]*: " "$TMP/bad.log" || fail "no line number: $(cat "$TMP/bad.log")"
ok "a broken password file stops the start with its line"

# Defaults: anonymous clients are welcome on loopback only.
lo=$(free_port)
any=$(free_port)
cat >"$TMP/defaults.yaml" <<YAML
store: { path: $TMP/defaults.db }
broker:
  listeners:
    - { port: $lo }
    - { port: $any, bind: 0.0.0.0 }
YAML
start_fieldmqd "$TMP/defaults.yaml"
mosquitto_pub -h 127.0.0.1 -p "$lo" -t x -m anon || fail "anonymous on loopback refused"
rc=0; mosquitto_pub -h 127.0.0.1 -p "$any" -t x -m anon 2>/dev/null || rc=$?
[ "$rc" = 5 ] || fail "anonymous on 0.0.0.0 by default: exit $rc, want 5"
ok "by default anonymous clients are allowed on a loopback listener and refused on any other address"
stop_fieldmqd
done_testing
