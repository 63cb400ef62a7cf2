#!/bin/bash
# TLS listeners with real clients: mosquitto_pub/_sub over TLS beside a
# plain listener, TLS 1.2 and 1.3 and a 1.3-only listener, client
# certificates required (none, a good one, one from another CA) with the
# certificate's name as the username, a client
# that stalls its handshake, and certificate mistakes found at start-up.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v openssl >/dev/null || fail "openssl is needed"
command -v mosquitto_pub >/dev/null || fail "mosquitto-clients is needed"
plain=$(free_port)
tls=$(free_port)
mutual=$(free_port)
FIELDMQD=$(cd "$(dirname "$FIELDMQD")" && pwd)/fieldmqd
cd "$TMP"

# cert NAME CN CA: a key and a certificate for CN signed by CA.
cert() {
	openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" \
	    -subj "/CN=$2" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" \
	    -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
}
for ca in ca other-ca; do
	openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out $ca.crt \
	    -days 2 -subj "/CN=$ca" 2>/dev/null
done
cert server localhost ca
cert client meter-7 ca
cert stranger meter-8 other-ca
# An expired one: valid until yesterday.
openssl req -newkey rsa:2048 -nodes -keyout old.key -out old.csr \
    -subj "/CN=meter-9" 2>/dev/null
openssl x509 -req -in old.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out old.crt -days -1 2>/dev/null
ok "test certificates made with openssl"

cat >fieldmq.yaml <<YAML
log_level: debug
store: { path: $TMP/fieldmq.db }
broker:
  listeners:
    - { port: $plain }
    - port: $tls
      connect_timeout: 1s
      tls: { cert: $TMP/server.crt, key: $TMP/server.key }
    - port: $mutual
      tls:
        cert: $TMP/server.crt
        key: $TMP/server.key
        ca: $TMP/ca.crt
        client_cert: required
        cn_as_username: true
        min_version: "1.3"
YAML
start_fieldmqd fieldmq.yaml
T=(-h localhost --cafile ca.crt)

mosquitto_sub "${T[@]}" -p "$tls" -t "a/#" -C 2 -v -W 10 >sub.out &
sub=$!
track "$sub"
await_subscriber_tls() {
	local i=0
	while ! grep -q '^a/probe probe$' sub.out 2>/dev/null; do
		[ "$i" -lt 50 ] || fail "the TLS subscriber never became ready"
		mosquitto_pub -h 127.0.0.1 -p "$plain" -t a/probe -m probe
		sleep 0.2
		i=$((i + 1))
	done
}
await_subscriber_tls
mosquitto_pub "${T[@]}" -p "$tls" -q 1 -t a/secure -m over-tls ||
	fail "publish over TLS"
wait_exit "$sub" 10
[ "$(tail -n 1 sub.out)" = "a/secure over-tls" ] || fail "got: $(cat sub.out)"
ok "mosquitto_pub and mosquitto_sub over TLS; plain and TLS clients share the topics"

echo | openssl s_client -connect 127.0.0.1:"$tls" -tls1_2 -CAfile ca.crt \
	>s12.out 2>&1 || true
grep -q "New, TLSv1.2, Cipher is [A-Z]" s12.out || fail "TLS 1.2: $(grep -i 'protocol\|error' s12.out | head -3)"
echo | openssl s_client -connect 127.0.0.1:"$tls" -tls1_3 -CAfile ca.crt \
	>s13.out 2>&1 || true
grep -q "New, TLSv1.3, Cipher is [A-Z]" s13.out || fail "TLS 1.3: $(grep -i 'protocol\|error' s13.out | head -3)"
grep -q "Verify return code: 0 (ok)" s13.out || fail "the server certificate does not verify"
echo | openssl s_client -connect 127.0.0.1:"$mutual" -tls1_2 -CAfile ca.crt \
	-cert client.crt -key client.key >m12.out 2>&1 || true
grep -q "alert protocol version" m12.out && ! grep -q "Cipher is [A-Z]" m12.out ||
	fail "a 1.3-only listener accepted TLS 1.2: $(grep -i 'cipher\|alert' m12.out)"
ok "TLS 1.2 and 1.3 handshakes; min_version 1.3 refuses TLS 1.2"

mosquitto_pub "${T[@]}" -p "$mutual" -t a/x -m none 2>/dev/null &&
	fail "a client without a certificate was accepted"
wait_for_match fieldmqd.log "closed: TLS error: .*peer did not return a certificate"
mosquitto_pub "${T[@]}" -p "$mutual" --cert stranger.crt --key stranger.key \
	-t a/x -m stranger 2>/dev/null && fail "a certificate from another CA was accepted"
wait_for_match fieldmqd.log "closed: TLS error: .*certificate"
mosquitto_pub "${T[@]}" -p "$mutual" --cert old.crt --key old.key \
	-t a/x -m expired 2>/dev/null && fail "an expired certificate was accepted"
wait_for_match fieldmqd.log "closed: TLS error: .*certificate verify failed \(certificate has expired\)"
mosquitto_pub "${T[@]}" -p "$mutual" --cert client.crt --key client.key -q 1 \
	-t a/x -m good || fail "a client with a good certificate was refused"
wait_for_match fieldmqd.log "TLSv1.3 .*certificate of meter-7"
wait_for_match fieldmqd.log "client [^ ]+ connected from .*user \"meter-7\""
ok "client certificates: none, one from another CA and an expired one are refused (logged with the reason), a good one is accepted and its CN is the username"

# A client that connects and never finishes its handshake.
exec 7<>/dev/tcp/127.0.0.1/"$tls"
mosquitto_pub "${T[@]}" -p "$tls" -t a/y -m while-stalled ||
	fail "a stalled handshake blocks other clients"
wait_for_match fieldmqd.log "connection from 127.0.0.1:[0-9]+ closed: no CONNECT in time" 5
exec 7>&-
alive "$FIELDMQD_PID" || fail "fieldmqd died"
ok "a stalled handshake costs only its connection: others are served, it is closed after connect_timeout"
stop_fieldmqd

# Mistakes in the certificate configuration stop the start, saying what.
sed "s|key: $TMP/server.key }|key: $TMP/client.key }|" fieldmq.yaml >mismatch.yaml
"$FIELDMQD" -c mismatch.yaml 2>mismatch.log && fail "started with a key of another certificate"
grep -q "tls.key .*client.key does not belong to tls.cert .*server.crt" mismatch.log ||
	fail "mismatch: $(cat mismatch.log)"
sed "s|cert: $TMP/server.crt, |cert: $TMP/missing.crt, |" fieldmq.yaml >missing.yaml
"$FIELDMQD" -c missing.yaml 2>missing.log && fail "started without its certificate"
grep -q "broker.listeners\[1\] (port $tls): tls.cert .*missing.crt: .*No such file" missing.log ||
	fail "missing: $(cat missing.log)"
ok "a key that does not match its certificate, or a missing certificate, stops fieldmqd at start-up with the file named"
done_testing
