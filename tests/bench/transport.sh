#!/bin/bash
# Transport benchmark: what TLS and WebSocket cost against plain TCP on
# fieldmqd, and fieldmqd's TLS against mosquitto's, with one client for
# all of them (Paho MQTT C, tests/bench/transport.c): 1 publisher -> 1
# subscriber on one topic, 64-byte payloads, QoS 0 and QoS 1, the rate
# measured at the subscriber from the first message received to the last.
# Debian's mosquitto has TLS but no WebSocket, so WebSocket is compared
# with fieldmqd's plain TCP only.
#
# One fieldmqd with four listeners (tcp, tls, websocket, websocket+tls)
# and one mosquitto with two (tcp, tls), on free loopback ports, a CA and
# a server certificate made with openssl. The six targets are run in
# turn, RUNS rounds (ABAB...), and the medians and their ratios are
# printed. Figures are printed, never judged: no pass/fail on time. Loss
# and duplicates are counted in every run; the exit status is 1 only when
# a run failed (a client could not connect, lost its connection, or got
# nothing).
#
# The client's publisher and subscriber are two processes, and over
# ws:// and wss:// the publisher "pokes" the subscriber at the end of a
# run: both work around Paho C quirks, described at the top of
# tests/bench/transport.c. A rate is the subscriber's: messages received
# over the time from the first to the last, so a broker that queues for
# a slow subscriber is measured at its delivery rate.
#
#   tests/bench/transport.sh [BUILDDIR]      (default ./build)
#
# Environment:
#   FIELDMQD=path    the daemon (default BUILDDIR/fieldmqd; a copy is run)
#   TRANSPORT=path   the client (default BUILDDIR/tests/bench/transport;
#                    compiled into the temporary directory from
#                    tests/bench/transport.c if absent)
#   MOSQUITTO=path   default /usr/sbin/mosquitto (apt-get installed if missing)
#   RUNS=3           rounds (the median is reported)
#   COUNT=200000     messages per QoS 0 run
#   COUNT1=50000     messages per QoS 1 run
#   QOS="0 1"        which QoS levels to run
#   KEEP_TMP=1       keep the temporary directory (certificates, configs,
#                    logs, raw lines)
set -eu

BUILD=${1:-./build}
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
FIELDMQD=${FIELDMQD:-$BUILD/fieldmqd}
TRANSPORT=${TRANSPORT:-$BUILD/tests/bench/transport}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
RUNS=${RUNS:-3}
COUNT=${COUNT:-200000}
COUNT1=${COUNT1:-50000}
QOS=${QOS:-0 1}
TARGETS="fieldmqd-tcp fieldmqd-ssl fieldmqd-ws fieldmqd-wss mosquitto-tcp mosquitto-ssl"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fieldmq-transport.XXXXXX")
PIDS=""
RAW=$TMP/raw.txt	# "target qos run key=value ..." per run
: >"$RAW"

cleanup() {
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		{ timeout 5 tail --pid="$p" -f /dev/null || kill -9 "$p"; } \
		    2>/dev/null || true
	done
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "transport.sh: $*" >&2
	exit 1
}

note() {
	echo "# $*" >&2
}

# ---- tools ---------------------------------------------------------------

# build_transport: compiles the client into TMP if BUILD has none (until
# the Makefile builds it).
build_transport() {
	[ -x "$TRANSPORT" ] && return 0
	local inc=$BUILD
	[ -f "$inc/config.h" ] || { inc=$TMP/inc; mkdir -p "$inc"; : >"$inc/config.h"; }
	TRANSPORT=$TMP/transport
	note "compiling $TRANSPORT"
	gcc -std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter \
	    -Wno-missing-field-initializers -I"$inc" -I"$SRCDIR/gateway" \
	    -I"$SRCDIR" "$SRCDIR/tests/bench/transport.c" -lpaho-mqtt3as \
	    -lpthread -o "$TRANSPORT" ||
		die "cannot compile transport (libpaho-mqtt-dev is needed)"
}

need_mosquitto() {
	[ -x "$MOSQUITTO" ] && return 0
	[ "$(id -u)" = 0 ] || die "$MOSQUITTO is missing: apt-get install mosquitto"
	note "installing mosquitto"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto >&2 ||
		die "apt-get install mosquitto failed"
	[ -x "$MOSQUITTO" ] || die "$MOSQUITTO is still missing"
}

free_port() {
	if [ -x "$BUILD/tests/tools/freeport" ]; then
		"$BUILD/tests/tools/freeport"
	else
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	fi
}

alive() {
	kill -0 "$1" 2>/dev/null &&
		[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# field KEY: the value of KEY=value in a line read on stdin.
field() {
	awk -v k="$1" '{ for (i = 1; i <= NF; i++) { n = index($i, "=");
		if (substr($i, 1, n - 1) == k) print substr($i, n + 1) } }'
}

# make_certs: a CA and a server certificate for localhost and 127.0.0.1.
make_certs() {
	local d=$TMP/tls
	mkdir "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" \
	    -out "$d/ca.crt" -days 2 -subj "/CN=transport-bench-ca" 2>/dev/null ||
		die "openssl: cannot make the CA"
	openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" \
	    -out "$d/server.csr" -subj "/CN=localhost" 2>/dev/null ||
		die "openssl: cannot make the server key"
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
	    -CAcreateserial -out "$d/server.crt" -days 2 \
	    -extfile "$d/server.ext" 2>/dev/null ||
		die "openssl: cannot sign the server certificate"
	CA=$d/ca.crt CERT=$d/server.crt KEY=$d/server.key
}

# ---- brokers -------------------------------------------------------------

# await_port PID PORT NAME: until PORT accepts connections.
await_port() {
	local i=0
	until (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; do
		if ! alive "$1" || [ "$i" -ge 200 ]; then
			tail -n 20 "$TMP/$3.log" >&2
			die "$3 did not start listening on 127.0.0.1:$2"
		fi
		sleep 0.05
		i=$((i + 1))
	done
}

start_fieldmqd() {
	F_TCP=$(free_port) F_TLS=$(free_port) F_WS=$(free_port) F_WSS=$(free_port)
	cp "$FIELDMQD" "$TMP/fieldmqd"
	cat >"$TMP/fieldmqd.yaml" <<YAML
log_level: warn
store: { path: $TMP/fieldmqd.db }
broker:
  sys_interval: 60s
  max_inflight: 1000
  max_queued_messages: 1000000
  max_queued_bytes: 1GiB
  listeners:
    - { port: $F_TCP, bind: 127.0.0.1 }
    - port: $F_TLS
      bind: 127.0.0.1
      tls: { cert: $CERT, key: $KEY }
    - { port: $F_WS, bind: 127.0.0.1, websocket: true, path: /mqtt }
    - port: $F_WSS
      bind: 127.0.0.1
      websocket: true
      path: /mqtt
      tls: { cert: $CERT, key: $KEY }
YAML
	"$TMP/fieldmqd" -c "$TMP/fieldmqd.yaml" >>"$TMP/fieldmqd.log" 2>&1 &
	F_PID=$!
	PIDS="$PIDS $F_PID"
	for p in $F_TCP $F_TLS $F_WS $F_WSS; do
		await_port "$F_PID" "$p" fieldmqd
	done
}

start_mosquitto() {
	M_TCP=$(free_port) M_TLS=$(free_port)
	# Started as root, mosquitto switches to the user mosquitto before it
	# reads the certificate and key, which it then may not read here.
	if [ "$(id -u)" = 0 ]; then
		echo "user root" >"$TMP/mosquitto.conf"
	else
		: >"$TMP/mosquitto.conf"
	fi
	cat >>"$TMP/mosquitto.conf" <<CONF
allow_anonymous true
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
set_tcp_nodelay true
persistence false
log_dest none
listener $M_TCP 127.0.0.1
listener $M_TLS 127.0.0.1
certfile $CERT
keyfile $KEY
CONF
	"$MOSQUITTO" -c "$TMP/mosquitto.conf" >>"$TMP/mosquitto.log" 2>&1 &
	M_PID=$!
	PIDS="$PIDS $M_PID"
	for p in $M_TCP $M_TLS; do
		await_port "$M_PID" "$p" mosquitto
	done
}

# url TARGET: the client's URL for a target.
url() {
	case $1 in
	fieldmqd-tcp) echo "tcp://127.0.0.1:$F_TCP" ;;
	fieldmqd-ssl) echo "ssl://127.0.0.1:$F_TLS" ;;
	fieldmqd-ws) echo "ws://127.0.0.1:$F_WS/mqtt" ;;
	fieldmqd-wss) echo "wss://127.0.0.1:$F_WSS/mqtt" ;;
	mosquitto-tcp) echo "tcp://127.0.0.1:$M_TCP" ;;
	mosquitto-ssl) echo "ssl://127.0.0.1:$M_TLS" ;;
	esac
}

# ---- runs ----------------------------------------------------------------

# record TARGET QOS RUN LINE: keeps one run's figures.
record() {
	echo "$1 $2 $3 $4" >>"$RAW"
	printf '# %-14s qos %s run %s: %s\n' "$1" "$2" "$3" "$4" >&2
}

# run_one TARGET QOS RUN
run_one() {
	local t=$1 q=$2 r=$3 u n out rc=0 ca=() BPID
	u=$(url "$t")
	case $q in 0) n=$COUNT ;; *) n=$COUNT1 ;; esac
	case $u in ssl://* | wss://*) ca=(--ca "$CA") ;; esac
	case $t in fieldmqd-*) BPID=$F_PID ;; *) BPID=$M_PID ;; esac
	if ! alive "$BPID"; then
		record "$t" "$q" "$r" "failed=1 why=broker-died"
		return
	fi
	out=$(timeout -s TERM 100 "$TRANSPORT" "$u" "${ca[@]}" --count "$n" \
	    --qos "$q" --size 64 --stall 5 --time-limit 80 2>"$TMP/run.err") ||
		rc=$?
	sed 's/^/#   /' "$TMP/run.err" >&2	# missing ranges, errors
	if [ "$rc" != 0 ] || [ -z "$out" ]; then
		alive "$BPID" || note "$t: the broker died"
		record "$t" "$q" "$r" "failed=1 why=exit-$rc $out"
		return
	fi
	record "$t" "$q" "$r" "$out"
}

# ---- report --------------------------------------------------------------

# median TARGET QOS KEY: the median of KEY over the runs that worked.
median() {
	awk -v t="$1" -v q="$2" '$1 == t && $2 == q && !/failed=1/' "$RAW" |
		field "$3" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-";
		      else if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B QOS: median rate of A / median rate of B.
ratio() {
	local a b
	a=$(median "$1" "$3" rate) b=$(median "$2" "$3" rate)
	awk -v a="$a" -v b="$b" 'BEGIN {
		if (a == "-" || b == "-" || b == 0) print "-";
		else printf "%.2f", a / b }'
}

# sum TARGET KEY: KEY added up over all runs of a target.
sum() {
	awk -v t="$1" '$1 == t' "$RAW" | field "$2" |
		awk '{ t += $1 } END { print t + 0 }'
}

report() {
	local t q line pair a b
	echo
	echo "MQTT transport benchmark: Paho MQTT C (MQTTAsync) 1 publisher -> 1 subscriber, one topic,"
	echo "64-byte payloads, loopback; QoS 0: $COUNT messages, QoS 1: $COUNT1; median of $RUNS runs (rounds)"
	echo "  fieldmqd:  $("$TMP/fieldmqd" -V 2>&1 | head -n 1)"
	echo "  mosquitto: $("$MOSQUITTO" -h 2>&1 | head -n 1)"
	echo "  $(nproc) CPUs; the clients and the brokers share them"
	echo
	line=$(printf "%-16s" "msg/s (median)")
	for q in $QOS; do line="$line$(printf "%14s" "QoS $q")"; done
	echo "$line"
	for t in $TARGETS; do
		line=$(printf "%-16s" "$t")
		for q in $QOS; do
			line="$line$(printf "%14s" "$(median "$t" "$q" rate |
			    awk '{ if ($1 == "-") print "-"; else printf "%.0f", $1 }')")"
		done
		echo "$line"
	done
	echo
	line=$(printf "%-34s" "ratio of the medians")
	for q in $QOS; do line="$line$(printf "%8s" "QoS $q")"; done
	echo "$line"
	for pair in "fieldmqd-ssl fieldmqd-tcp" "fieldmqd-ws fieldmqd-tcp" \
	    "fieldmqd-wss fieldmqd-tcp" "fieldmqd-ssl mosquitto-ssl" \
	    "mosquitto-ssl mosquitto-tcp" "fieldmqd-tcp mosquitto-tcp"; do
		read -r a b <<<"$pair"
		line=$(printf "%-34s" "$a / $b")
		for q in $QOS; do line="$line$(printf "%8s" "$(ratio "$a" "$b" "$q")")"; done
		echo "$line"
	done
	echo
	echo "loss and duplicates over all runs (should all be 0):"
	for t in $TARGETS; do
		printf "  %-14s lost=%s dup=%s reorder=%s pub_failed=%s unfinished=%s stray=%s stalled_runs=%s failed_runs=%s\n" \
		    "$t" "$(sum "$t" lost)" "$(sum "$t" dup)" "$(sum "$t" reorder)" \
		    "$(sum "$t" pub_failed)" "$(sum "$t" unfinished)" \
		    "$(sum "$t" stray)" \
		    "$(awk -v t="$t" '$1 == t && / stalled=1/' "$RAW" | wc -l)" \
		    "$(awk -v t="$t" '$1 == t && /failed=1/' "$RAW" | wc -l)"
	done
	awk '!/failed=1/ { for (i = 4; i <= NF; i++)
		if ($i ~ /^(lost|dup|stray|unfinished)=/ && $i !~ /=0$/) {
			print "  nonzero: " $0; break } }' "$RAW"
	awk '/failed=1/ { print "  failed: " $0 }' "$RAW"
}

# ---- main ----------------------------------------------------------------

command -v openssl >/dev/null || die "openssl is needed"
[ -x "$FIELDMQD" ] || die "$FIELDMQD is missing (build it first)"
need_mosquitto
build_transport
make_certs
start_fieldmqd
note "fieldmqd: pid $F_PID; tcp $F_TCP, tls $F_TLS, ws $F_WS, wss $F_WSS"
start_mosquitto
note "mosquitto: pid $M_PID; tcp $M_TCP, tls $M_TLS"

for q in $QOS; do
	for r in $(seq 1 "$RUNS"); do
		for t in $TARGETS; do
			run_one "$t" "$q" "$r"
		done
	done
done

report
# Slow is a figure; a failed run is not.
! grep -q 'failed=1' "$RAW"
