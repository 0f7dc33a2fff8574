#!/bin/bash
# export.sh BUILD: what exporting to a flow collector costs, and whether every
# key arrives exact: xdptop --format json alone, xdptop exporting IPFIX
# (--format none, then beside JSON), and the libpcap exporters a user would
# otherwise run (softflowd, IPFIX; fprobe, NetFlow v5, IPv4 only), one at a
# time on v1 with the same traffic from bench/sender, each sending to one
# nfacctd on the receiver's loopback. Prints Markdown.
set -euo pipefail
BUILD=$1
cd "$(dirname "$0")/.."
source bench/lab.sh
lab_up
# nfacctd asks 64 MiB for its socket (bench/nfacctd.conf), which the kernel
# caps at net.core.rmem_max (4 MiB here): raised for the run, put back at
# exit, so that what is measured is the exporters, not the collector's
# buffer.
RMEM_MAX=$(sysctl -n net.core.rmem_max)
trap 'sysctl -qw net.core.rmem_max="$RMEM_MAX"; lab_down' EXIT
sysctl -qw net.core.rmem_max=67108864

PORT=4739
# collector_start CACHE: nfacctd on 127.0.0.1:PORT in NS_B.
collector_start() {
	rm -f "$LAB_TMP/nf.json" "$LAB_TMP/nf.log"
	sed -e "s|@PORT@|$PORT|" -e "s|@OUT@|$LAB_TMP/nf.json|" -e "s|@LOG@|$LAB_TMP/nf.log|" \
		-e "s|@CACHE@|$1|" bench/nfacctd.conf >"$LAB_TMP/nf.conf"
	ip netns exec "$NS_B" taskset -c 0 nfacctd -f "$LAB_TMP/nf.conf" >/dev/null 2>&1 &
	COLLECTOR_PID=$!
	LAB_PIDS+=("$COLLECTOR_PID")
	wait_for "$LAB_TMP/nf.log" "waiting for NetFlow/IPFIX data" 10
}

# collector_stop: waits until what nfacctd printed stops growing (it prints
# every second what it took in since), then stops it.
collector_stop() {
	local size last=-1 same=0
	for _ in $(seq 120); do
		size=$(stat -c %s "$LAB_TMP/nf.json" 2>/dev/null || echo 0)
		if [ "$size" = "$last" ]; then
			same=$(( same + 1 ))
			[ "$same" -ge 3 ] && break
		else
			same=0
		fi
		last=$size
		sleep 1
	done
	kill -INT "$COLLECTOR_PID"
	wait "$COLLECTOR_PID" 2>/dev/null || true
}

ROWS=""
# run LABEL TOOL FAMILY SOURCES COUNT CACHE [ARGS...]: one bounded run.
run() {
	local label=$1 tool=$2 fam=$3 n=$4 count=$5 cache=$6 pid stat="$LAB_TMP/stat" r cmp out
	shift 6
	rm -f "$stat" "$LAB_TMP/agent.err" "$LAB_TMP/x.json"
	echo "  export: $label, $n sources, $count frames" >&2
	out="$LAB_TMP/nf.json"
	[ "$tool" = json ] || collector_start "$cache"
	case $tool in
	json | xdptop)
		ip netns exec "$NS_B" taskset -c 1 "$BUILD/bench/runstat" -o "$stat" -t 180 -- \
			"$BUILD/xdptop" --interval 1 "$@" v1 >"$LAB_TMP/x.json" 2>"$LAB_TMP/agent.err" &
		pid=$!
		wait_for "$LAB_TMP/agent.err" "Attached XDP program" 10
		;;
	softflowd)
		ip netns exec "$NS_B" taskset -c 1 "$BUILD/bench/runstat" -o "$stat" -t 180 -- \
			softflowd -d -i v1 -v 10 -6 -m $(( 2 * n )) -c "$LAB_TMP/sf.ctl" \
			-p "$LAB_TMP/sf.pid" -n "127.0.0.1:$PORT" >/dev/null 2>&1 &
		pid=$!
		sleep 1
		;;
	fprobe)
		ip netns exec "$NS_B" taskset -c 1 "$BUILD/bench/runstat" -o "$stat" -t 180 -- \
			fprobe -i v1 -p -s 1 -d 1 -e 1 -l 2:"$LAB_TMP/fp" "127.0.0.1:$PORT" \
			>/dev/null 2>&1 &
		pid=$!
		sleep 1
		;;
	esac
	r=$(send -c "$count" -f "$fam" -n "$n" -t 60)
	case $tool in
	softflowd) ip netns exec "$NS_B" softflowctl -c "$LAB_TMP/sf.ctl" shutdown >/dev/null ;;
	fprobe) sleep 3; kill -INT "$pid" 2>/dev/null || true ;;	# its timers: 1 s
	*) kill -INT "$pid" 2>/dev/null || true ;;
	esac
	wait "$pid" || true
	local sent
	sent=$(field sent "$r")
	if [ "$tool" = json ]; then
		tail -n 1 "$LAB_TMP/x.json" >"$LAB_TMP/x.last"
		cmp=$(/usr/bin/python3 bench/compare.py xdptop "$LAB_TMP/x.last" "$fam" "$n" "$sent")
	else
		collector_stop
		cmp=$(/usr/bin/python3 bench/compare.py nfacctd "$out" "$fam" "$n" "$sent")
	fi
	local st=""
	[ -s "$stat" ] && st=$(cat "$stat")
	ROWS+=$(awk -v label="$label" -v n="$n" -v sent="$sent" \
		-v rep="$(field reported "$cmp")" -v exact="$(field exact "$cmp")" \
		-v lost="$(field lost "$cmp")" -v cpu="$(field cpu_s "$st")" \
		-v rcpu="$(field rusage_cpu_s "$st")" -v rss="$(field max_rss_kb "$st")" 'BEGIN {
		c = (rcpu > cpu) ? rcpu : cpu
		printf "| %s | %s | %s | %s of %s | %s | %.3f | %.1f | %.0f MiB |\n", \
			label, n, rep, exact, n, lost, c / (sent / 1e6), c, rss / 1024
	}')$'\n'
}

V4_FRAMES=${EXPORT_V4_FRAMES:-3000000}
V6_FRAMES=${EXPORT_V6_FRAMES:-2000000}
for scen in v4 v6; do
	if [ $scen = v4 ]; then fam=4 n=10000 count=$V4_FRAMES max=65536 cache=16411
	else fam=6 n=1000000 count=$V6_FRAMES max=1048576 cache=131071
	fi
	run "xdptop --format json" json $fam $n "$count" "$cache" --format json --max-sources "$max"
	run "**xdptop --format none --ipfix**" xdptop $fam $n "$count" "$cache" --format none \
		--max-sources "$max" --ipfix "127.0.0.1:$PORT"
	run "**xdptop --format json --ipfix**" xdptop $fam $n "$count" "$cache" --format json \
		--max-sources "$max" --ipfix "127.0.0.1:$PORT"
	run "softflowd -v 10 (IPFIX)" softflowd $fam $n "$count" "$cache"
	if [ $scen = v4 ]; then
		run "fprobe (NetFlow v5)" fprobe $fam $n "$count" "$cache"
	fi
done

cat <<EOF
### 5. Exporting to a flow collector: xdptop --ipfix, softflowd, fprobe

One tool at a time on v1 (CPU 1), the sender on CPU 0 as fast as it can, the same traffic as 4
($V4_FRAMES IPv4 frames from 10,000 sources, then $V6_FRAMES IPv6 frames from 1,000,000); one
nfacctd (bench/nfacctd.conf: aggregate src_host, printed every second, summed over its lines once
they stop growing; a 64 MiB socket, net.core.rmem_max raised for the run) on the receiver's
loopback collects what each exporter sends, and its per-source packet counts are checked against
what was sent (*sources exact*, *frames lost*: sent, not in nfacctd's sums). xdptop reports and
exports every second, so each key is a record per interval, its messages sent over half the
interval (src/pacer.c); softflowd (\`-v 10 -6 -m 2N\`, flows expired by \`softflowctl shutdown\`)
and fprobe (NetFlow v5, IPv4 only, \`-s 1 -d 1 -e 1\`: flows sent a second after their last frame,
at most) keep flows (5-tuples) and export them when they end. CPU: the tool's processes
(bench/runstat), per million frames and in all. The first row is xdptop without exporting, its
counts read from its JSON.

| run | sources | sources at the collector | sources exact | frames lost | CPU s per Mframe | CPU s | RSS |
|---|---:|---:|---|---:|---:|---:|---:|
$ROWS
EOF
