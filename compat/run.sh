#!/usr/bin/env bash
# compat/run.sh: Samsa against Kafka clients from other ecosystems.
#
# Installs what it needs (Debian: kcat, python3-kafka, python3-confluent-kafka;
# npm: the KafkaJS version pinned in compat/js/package-lock.json), builds
# samsa, starts `samsa serve` on a fresh data dir and a free loopback port
# (its HTTP side port on another, checked with /readyz and /metrics),
# and for each client produces N keyed records (default 10,000) to a topic
# of its own with 3 partitions, consumes them back and checks keys, values,
# headers and per-partition order. Then each of kafka-python, confluent-kafka
# and KafkaJS does a consumer-group round trip on a topic of its own
# (COMPAT_GROUP_RECORDS records, default 3,000): one group consumes a third,
# commits and leaves, and a new member of the group must resume exactly at
# those commits and read the rest, every record once. Finally it stops the
# broker with SIGTERM and checks that it exits 0. Prints PASS/FAIL per
# check and a last line "N passed, M failed"; exits non-zero if anything
# failed.
#
# Environment: COMPAT_RECORDS (records per client), COMPAT_GROUP_RECORDS
# (records per consumer-group round trip), COMPAT_PORT (broker
# port; default: a free one), COMPAT_KEEP=1 (keep the work dir),
# COMPAT_PYTHON (a python3 that sees Debian's dist-packages; default
# /usr/bin/python3, since a pyenv python3 on PATH would not),
# COMPAT_BOOTSTRAP=host:port (run the client checks against that broker,
# Samsa or Apache Kafka, instead of starting one; topics must not exist).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMPAT="$ROOT/compat"
N=${COMPAT_RECORDS:-10000}
NG=${COMPAT_GROUP_RECORDS:-3000}
PY=${COMPAT_PYTHON:-/usr/bin/python3}
GO=${GO:-go}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/samsa-compat.XXXXXX")
BROKER_PID=""
PASSED=0
FAILED=0

log() { echo "compat: $*"; }

cleanup() {
	if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
		kill -KILL "$BROKER_PID" 2>/dev/null
		wait "$BROKER_PID" 2>/dev/null
	fi
	if [[ "${COMPAT_KEEP:-}" == 1 ]]; then
		log "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

pass() { echo "PASS: $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: $1"; FAILED=$((FAILED + 1)); }

# finish prints the closing tally and exits with its verdict.
finish() {
	echo "$PASSED passed, $FAILED failed"
	[[ $FAILED -eq 0 ]]
	exit
}

as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

# apt_install installs Debian packages, refreshing the package lists only
# when a plain install cannot find them (a fresh machine's lists may be
# missing or stale). Each apt step is bounded so a slow mirror fails the
# run instead of hanging it.
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	local opts=(-y -q --no-install-recommends -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=120)
	if as_root timeout 300 apt-get install "${opts[@]}" "$@" >"$WORK/apt.log" 2>&1; then
		return 0
	fi
	log "apt-get install $* failed without a list refresh; running apt-get update"
	as_root timeout 300 apt-get update -q >>"$WORK/apt.log" 2>&1 &&
		as_root timeout 300 apt-get install "${opts[@]}" "$@" >>"$WORK/apt.log" 2>&1
}

install_deps() {
	local need=()
	command -v kcat >/dev/null 2>&1 || need+=(kcat)
	"$PY" -c 'import kafka' >/dev/null 2>&1 || need+=(python3-kafka)
	"$PY" -c 'import confluent_kafka' >/dev/null 2>&1 || need+=(python3-confluent-kafka)
	command -v node >/dev/null 2>&1 || need+=(nodejs)
	command -v npm >/dev/null 2>&1 || need+=(npm)
	if [[ ${#need[@]} -gt 0 ]]; then
		log "installing ${need[*]} with apt-get"
		if ! apt_install "${need[@]}"; then
			tail -20 "$WORK/apt.log"
			fail "install: apt-get install ${need[*]}"
			finish
		fi
	fi
	local want have=""
	want=$(sed -n 's/.*"kafkajs": *"\([^"]*\)".*/\1/p' "$COMPAT/js/package.json")
	if [[ -f "$COMPAT/js/node_modules/kafkajs/package.json" ]]; then
		have=$(node -p 'require(process.argv[1]).version' "$COMPAT/js/node_modules/kafkajs/package.json" 2>/dev/null)
	fi
	if [[ "$have" != "$want" ]]; then
		log "installing kafkajs $want with npm ci"
		if ! (cd "$COMPAT/js" && timeout 300 npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1); then
			tail -20 "$WORK/npm.log"
			fail "install: npm ci (kafkajs $want)"
			finish
		fi
	fi
	log "kcat $(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\).*/\1/p'), $("$PY" -c 'import kafka; print("kafka-python", kafka.__version__)'), $("$PY" -c 'import confluent_kafka as c; print("confluent-kafka", c.version()[0], "librdkafka", c.libversion()[0])'), kafkajs $want, node $(node --version)"
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

build_samsa() {
	log "building samsa"
	if ! (cd "$ROOT" && $GO build -o "$WORK/samsa" ./cmd/samsa) >"$WORK/build.log" 2>&1; then
		cat "$WORK/build.log"
		fail "build samsa"
		finish
	fi
}

# check_side_port asks the broker's HTTP side port (named in its ready line)
# whether it is ready and whether /metrics answers.
check_side_port() {
	local http
	http=$(sed -n 's|^samsa: serving on .*metrics http://\([^/]*\)/metrics.*|\1|p' "$WORK/broker.out")
	if [ -n "$http" ] && "$PY" - "$http" <<'PYEOF'
import sys, urllib.request
base = "http://" + sys.argv[1]
with urllib.request.urlopen(base + "/readyz", timeout=10) as r:
    assert r.status == 200 and r.read() == b"ok\n"
with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
    assert r.status == 200 and b"\nsamsa_partitions " in r.read()
PYEOF
	then
		pass "http side port ($http): /readyz, /metrics"
	else
		fail "http side port: /readyz or /metrics (ready line: $(grep '^samsa: serving on' "$WORK/broker.out"))"
	fi
}

start_broker() {
	PORT=${COMPAT_PORT:-$(free_port)}
	BOOTSTRAP="127.0.0.1:$PORT"
	mkdir -p "$WORK/data"
	# SAMSA_* variables configure the broker; keep the caller's out of it.
	env $(env | sed -n 's/^\(SAMSA_[A-Za-z0-9_]*\)=.*/-u \1/p') \
		"$WORK/samsa" serve \
		--override "listeners=PLAINTEXT://$BOOTSTRAP" \
		--override "samsa.http.listener=127.0.0.1:0" \
		--override "log.dirs=$WORK/data" \
		>"$WORK/broker.out" 2>"$WORK/broker.err" &
	BROKER_PID=$!
	local i
	for ((i = 0; i < 300; i++)); do
		if grep -q '^samsa: serving on' "$WORK/broker.out" 2>/dev/null; then
			log "$(grep '^samsa: serving on' "$WORK/broker.out")"
			pass "broker start"
			check_side_port
			return
		fi
		if ! kill -0 "$BROKER_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	tail -20 "$WORK/broker.out" "$WORK/broker.err"
	fail "broker start (no ready line within 30s)"
	finish
}

# run_check NAME CMD...: runs one client check and prints its verdict; its
# output is shown only when it fails. Every client command in a check runs
# under `timeout`, so a hung client fails its check instead of the run.
run_check() {
	local name=$1
	shift
	local start=$SECONDS
	if "$@" >"$WORK/$name.log" 2>&1; then
		pass "$name ($(tail -1 "$WORK/$name.log"); $((SECONDS - start))s)"
	else
		echo "---- $name output (last 40 lines) ----"
		tail -40 "$WORK/$name.log"
		echo "---- broker log (last 10 lines) ----"
		tail -10 "$WORK/broker.err"
		fail "$name"
	fi
}

check_kcat() {
	local topic=compat-kcat
	timeout 60 "$WORK/samsa" topic create "$topic" --brokers "$BOOTSTRAP" --partitions 3 || return 1
	"$PY" -c 'import sys, check
for k, v, _ in check.gen_records(int(sys.argv[1])): print(k + ":" + v)' "$N" >"$WORK/kcat.in" || return 1
	timeout 120 kcat -b "$BOOTSTRAP" -P -t "$topic" -K : -H client=kcat -z snappy -X acks=all <"$WORK/kcat.in" || return 1
	timeout 120 kcat -b "$BOOTSTRAP" -C -t "$topic" -o beginning -e -q -f '%p|%o|%k|%s|%h\n' >"$WORK/kcat.out" || return 1
	"$PY" "$COMPAT/check.py" kcat "$N" "$WORK/kcat.in" "$WORK/kcat.out"
}

check_kafkajs() {
	(cd "$COMPAT/js" && timeout 180 node compat.js "$BOOTSTRAP" compat-kafkajs "$N" "$WORK") || return 1
	"$PY" "$COMPAT/check.py" jsonl "kafkajs (consumed with: $(cat "$WORK/kafkajs.mode"))" "$N" "$WORK/kafkajs.produced.jsonl" "$WORK/kafkajs.consumed.jsonl"
}

check_kafkajs_group() {
	(cd "$COMPAT/js" && timeout 300 node group.js "$BOOTSTRAP" compat-kafkajs-group "$NG" "$WORK") || return 1
	"$PY" "$COMPAT/check.py" group "kafkajs group" "$NG" "$WORK/kafkajs-group.produced.jsonl" \
		"$WORK/kafkajs-group.run1.jsonl" "$WORK/kafkajs-group.run2.jsonl" "$WORK/kafkajs-group.committed.json"
}

stop_broker() {
	kill -TERM "$BROKER_PID"
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$BROKER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$BROKER_PID" 2>/dev/null; then
		fail "broker shutdown (still running 30s after SIGTERM)"
		return
	fi
	wait "$BROKER_PID"
	local rc=$?
	BROKER_PID=""
	if [[ $rc -eq 0 ]]; then
		pass "broker shutdown (SIGTERM, exit 0)"
	else
		tail -20 "$WORK/broker.err"
		fail "broker shutdown (exit $rc after SIGTERM)"
	fi
}

export PYTHONPATH="$COMPAT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
install_deps
build_samsa
if [[ -n "${COMPAT_BOOTSTRAP:-}" ]]; then
	BOOTSTRAP=$COMPAT_BOOTSTRAP
	log "using the broker at $BOOTSTRAP"
else
	start_broker
fi
run_check kcat check_kcat
run_check kafka-python timeout 180 "$PY" "$COMPAT/kafka_python.py" "$BOOTSTRAP" compat-kafka-python "$N" "$WORK"
run_check confluent-kafka timeout 180 "$PY" "$COMPAT/confluent_kafka_python.py" "$BOOTSTRAP" compat-confluent "$N" "$WORK"
run_check kafkajs check_kafkajs
run_check kafka-python-group timeout 300 "$PY" "$COMPAT/kafka_python_group.py" "$BOOTSTRAP" compat-kafka-python-group "$NG" "$WORK"
run_check confluent-kafka-group timeout 300 "$PY" "$COMPAT/confluent_kafka_group.py" "$BOOTSTRAP" compat-confluent-group "$NG" "$WORK"
run_check kafkajs-group check_kafkajs_group
if [[ -z "${COMPAT_BOOTSTRAP:-}" ]]; then
	stop_broker
fi
finish
