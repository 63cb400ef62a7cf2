#!/bin/bash
# MQTT over WebSocket with real clients: a page in headless Chromium using
# MQTT.js subscribes over ws:// and gets what mosquitto_pub publishes over
# TCP; MQTT.js under node over ws:// and wss://; a raw client for split
# and shared frames, ping/pong, the close handshake and a protocol error;
# bad upgrade requests get an HTTP error and cost only their connection.
. "${top_srcdir:-.}/tests/integration/lib.sh"

if [ "${FIELDMQ_OFFLINE:-0}" = 1 ]; then
	echo "# SKIP: needs npm (the network) and a browser: FIELDMQ_OFFLINE=1"
	exit 77
fi
for t in node npm chromium openssl mosquitto_pub /usr/bin/python3; do
	command -v "$t" >/dev/null || fail "$t is needed (./quickstart test installs it)"
done
WEB=$top_srcdir/tests/integration/web
# MQTT.js from npm, once per machine (outside the build tree, which
# distcheck wants clean).
cache=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}
NODE_DIR=${FIELDMQ_NODE_DIR:-$cache/fieldmq-tests/node}
if [ ! -f "$NODE_DIR/node_modules/mqtt/dist/mqtt.min.js" ]; then
	mkdir -p "$NODE_DIR"
	timeout 300 npm install --prefix "$NODE_DIR" --no-audit --no-fund \
	    --silent mqtt@5 >"$TMP/npm.log" 2>&1 ||
		fail "npm install mqtt: $(tail -3 "$TMP/npm.log")"
fi
export NODE_PATH=$NODE_DIR/node_modules

tcp=$(free_port)
ws=$(free_port)
wss=$(free_port)
http=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/ca.key" -out "$TMP/ca.crt" \
	-days 2 -subj "/CN=test-ca" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$TMP/server.key" -out "$TMP/server.csr" \
	-subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$TMP/ext"
openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" \
	-CAcreateserial -out "$TMP/server.crt" -days 2 -extfile "$TMP/ext" 2>/dev/null
cat >"$TMP/fieldmq.yaml" <<YAML
log_level: debug
store: { path: $TMP/fieldmq.db }
broker:
  listeners:
    - { port: $tcp }
    - { port: $ws, websocket: true }
    - port: $wss
      websocket: true
      tls: { cert: $TMP/server.crt, key: $TMP/server.key }
YAML
start_fieldmqd "$TMP/fieldmq.yaml"

# MQTT.js under node: its own message and one from mosquitto_pub over TCP.
for url in "ws://127.0.0.1:$ws/mqtt" "wss://localhost:$wss/mqtt"; do
	# A file of its own: the shell empties a reused one only later.
	out=$TMP/node-${url%%:*}.out
	node "$WEB/client.js" "$url" "$TMP/ca.crt" 2 >"$out" 2>&1 &
	pid=$!
	track "$pid"
	wait_for_match "$out" "^ready$"
	mosquitto_pub -h 127.0.0.1 -p "$tcp" -q 1 -t ws/tcp -m from-tcp
	wait_exit "$pid" 15
	[ "$RC" = 0 ] || fail "node over $url: $(cat "$out")"
	grep -q "^got ws/node hello over ${url%%:*}$" "$out" &&
	    grep -q "^got ws/tcp from-tcp$" "$out" ||
		fail "node over $url got: $(cat "$out")"
done
ok "MQTT.js under node over ws:// and wss:// publishes and receives, with mosquitto_pub over TCP"

# A page in headless Chromium, served by a small HTTP server that logs.
mkdir "$TMP/www"
cp "$WEB/page.html" "$TMP/www/index.html"
cp "$NODE_DIR/node_modules/mqtt/dist/mqtt.min.js" "$TMP/www/"
(cd "$TMP/www" && exec /usr/bin/python3 -m http.server "$http" --bind 127.0.0.1) \
	>"$TMP/http.out" 2>"$TMP/http.log" &
track $!
i=0
until (exec 3<>/dev/tcp/127.0.0.1/"$http") 2>/dev/null; do
	[ "$i" -lt 100 ] || fail "the HTTP server did not start"
	sleep 0.1
	i=$((i + 1))
done
# In a session of its own: its helper processes go with it.
setsid chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$TMP/chromium" \
	"http://127.0.0.1:$http/index.html?port=$ws" >"$TMP/chromium.log" 2>&1 &
browser=$!
track "$browser"
wait_for_match "$TMP/http.log" "GET /(ready|error)" 60
grep -q "GET /error" "$TMP/http.log" && fail "the page: $(grep 'GET /error' "$TMP/http.log")"
mosquitto_pub -h 127.0.0.1 -p "$tcp" -q 1 -t browser/temp -m 21.5
wait_for_match "$TMP/http.log" "GET /got\?topic=browser%2Ftemp&payload=21.5 " 20
ok "a page in headless Chromium subscribes with MQTT.js over ws:// and receives what mosquitto_pub published"
kill -TERM -- "-$browser" 2>/dev/null || true
wait_exit "$browser" 10
kill -KILL -- "-$browser" 2>/dev/null || true

/usr/bin/python3 "$WEB/rawws.py" "$ws" >"$TMP/raw.out" 2>&1 ||
	fail "raw WebSocket client: $(cat "$TMP/raw.out")"
ok "split and shared frames, ping between fragments, close handshake, close 1002 for an unmasked frame ($(grep -c '^ok' "$TMP/raw.out") checks)"

# bad_request NAME REQUEST STATUS: an upgrade request answered with STATUS.
bad_request() {
	local out
	out=$(exec 3<>/dev/tcp/127.0.0.1/"$ws"
	    printf '%b' "$2" >&3
	    timeout 5 head -n 1 <&3) || true
	case "$out" in
	"HTTP/1.1 $3"*) ;;
	*) fail "$1: got '$out', want HTTP/1.1 $3" ;;
	esac
}
U='Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n'
K='Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
bad_request "another path" "GET /other HTTP/1.1\r\n$U$K\r\n" 404
bad_request "POST" "POST /mqtt HTTP/1.1\r\n$U$K\r\n" 405
bad_request "no key" "GET /mqtt HTTP/1.1\r\n$U\r\n" 400
bad_request "a plain page request" "GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n" 426
bad_request "MQTT instead of HTTP" '\x10\x10\x00\x04MQTT\x04\x02\x00\x1e\x00\x04abcd' 400
node "$WEB/client.js" "ws://127.0.0.1:$ws/mqtt" - 1 >"$TMP/after.out" 2>&1 ||
	fail "after bad requests: $(cat "$TMP/after.out")"
alive "$FIELDMQD_PID" || fail "fieldmqd died"
wait_for_match "$TMP/fieldmqd.log" "closed: WebSocket: .*" 5
ok "bad upgrade requests get 404, 405, 400, 426 and cost only their connection"
stop_fieldmqd
done_testing
