#!/bin/bash
# fieldmq check-config and fieldmqd -t: a valid file passes, a bad one
# prints every error as FILE:LINE:COL: PATH: message and exits 1.
. "${top_srcdir:-.}/tests/integration/lib.sh"

demo=$top_srcdir/etc/fieldmq.yaml

out=$("$FIELDMQ" check-config "$demo") || fail "check-config rejected the demo config"
echo "$out" | grep -q "^$demo: ok: 1 listener, 1 device, 4 tags, 2 tables" ||
	fail "unexpected summary: $out"
ok "check-config accepts the demo config"

"$FIELDMQD" -t -c "$demo" >/dev/null || fail "fieldmqd -t rejected the demo config"
ok "fieldmqd -t accepts the demo config"

cat > "$TMP/bad.yaml" <<'YAML'
log_level: chatty
broker:
  listners:
    - { port: 1883 }
devices:
  - name: boiler
    driver: modbus-tcp
    host: 127.0.0.1
    poll: 1 sec
    tags:
      - { name: t, address: 1 }
  - name: boiler
    driver: modbus-tcp
    host: 127.0.0.2
    tags:
      - { name: t, address: 1 }
YAML

rc=0
"$FIELDMQ" check-config "$TMP/bad.yaml" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "check-config exit status $rc, want 1"
cat > "$TMP/want" <<EOF2
$TMP/bad.yaml:1:12: log_level: "chatty" is not one of error, warn, info or debug
$TMP/bad.yaml:3:3: broker.listners: unknown key (did you mean "listeners"?)
$TMP/bad.yaml:9:11: devices[0].poll: "1 sec" is not a duration (use e.g. 500ms, 1s, 5m)
$TMP/bad.yaml:12:11: devices[1].name: duplicate device name "boiler" (first at line 6)
$TMP/bad.yaml: 4 errors
EOF2
diff -u "$TMP/want" "$TMP/err" || fail "check-config printed other errors"
[ ! -s "$TMP/out" ] || fail "check-config printed on stdout for a bad file"
ok "check-config prints every error with line and column, exit 1"

rc=0
"$FIELDMQD" -t -c "$TMP/bad.yaml" 2>"$TMP/err2" >/dev/null || rc=$?
[ "$rc" = 1 ] || fail "fieldmqd -t exit status $rc, want 1"
head -n 4 "$TMP/want" > "$TMP/want4"
grep -xF -f "$TMP/want4" "$TMP/err2" | diff -u "$TMP/want4" - ||
	fail "fieldmqd -t printed other errors"
ok "fieldmqd -t rejects the bad config with exit 1"

rc=0
"$FIELDMQD" -c "$TMP/bad.yaml" 2>"$TMP/err3" || rc=$?
[ "$rc" = 1 ] || fail "fieldmqd with a bad config: exit status $rc, want 1"
grep -q "fieldmqd: $TMP/bad.yaml: 4 errors: not starting" "$TMP/err3" ||
	fail "fieldmqd did not say why it is not starting"
ok "fieldmqd refuses to start on a bad config"

rc=0
"$FIELDMQ" check-config "$TMP/missing.yaml" 2>"$TMP/err4" || rc=$?
[ "$rc" = 1 ] || fail "missing file: exit status $rc, want 1"
grep -q "$TMP/missing.yaml: cannot open: No such file or directory" "$TMP/err4" ||
	fail "missing file: $(cat "$TMP/err4")"
ok "a missing file is reported"

"$FIELDMQ" check-config --help | grep -q "usage: fieldmq check-config" ||
	fail "check-config --help"
rc=0
"$FIELDMQ" frobnicate 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "unknown command: exit status $rc, want 2"
rc=0
"$FIELDMQD" --log-level loud -t -c "$demo" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "bad --log-level: exit status $rc, want 2"
ok "usage errors exit 2, --help works"

done_testing
