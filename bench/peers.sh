#!/bin/bash
# peers.sh BUILD: xdptop, pmacctd (libpcap, print plugin) and pktstat, one after
# the other, on the same veth traffic from bench/sender, each checked against
# what was sent. Prints Markdown.
set -euo pipefail
BUILD=$1
cd "$(dirname "$0")/.."
source bench/lab.sh
lab_up

HZ=$(getconf CLK_TCK)
# Softirq time of CPU 0, where v1's receive path runs (the sender's CPU).
softirq0() { awk -v hz="$HZ" '$1 == "cpu0" { print $8 / hz }' /proc/stat; }

ROWS=""
PKTSTAT_WINDOW=10

# run LABEL TOOL FAMILY SOURCES COUNT [AGENT ARGS...]: one bounded run.
run() {
	local label=$1 tool=$2 fam=$3 n=$4 count=$5 pid= s0 s1 r cmp="" stat="$LAB_TMP/stat"
	shift 5
	local out="$LAB_TMP/$tool.out"
	rm -f "$out" "$stat" "$LAB_TMP/pm.log"
	echo "  peers: $label, $n sources, $count frames" >&2
	case $tool in
	empty) xdp_empty_on ;;
	xdptop)
		ip netns exec "$NS_B" taskset -c 1 "$BUILD/bench/runstat" -o "$stat" -t 120 -- \
			"$BUILD/xdptop" --format json --interval 1 "$@" v1 >"$out" 2>"$LAB_TMP/agent.err" &
		pid=$!
		wait_for "$LAB_TMP/agent.err" "Attached XDP program" 10
		;;
	pmacctd)
		sed -e "s|@OUT@|$out|" -e "s|@LOG@|$LAB_TMP/pm.log|" -e "s|@CACHE@|$1|" \
			bench/pmacctd.conf >"$LAB_TMP/pm.conf"
		ip netns exec "$NS_B" taskset -c 1 "$BUILD/bench/runstat" -o "$stat" -t 120 -- \
			pmacctd -f "$LAB_TMP/pm.conf" >/dev/null 2>&1 &
		pid=$!
		wait_for "$LAB_TMP/pm.log" "link type" 10
		sleep 0.5
		;;
	pktstat)
		ip netns exec "$NS_B" taskset -c 1 "$BUILD/bench/runstat" -o "$stat" \
			-t $(( PKTSTAT_WINDOW + 30 )) -- pktstat -i v1 -1 -n -w "$PKTSTAT_WINDOW" \
			>"$out" 2>/dev/null &
		pid=$!
		sleep 1
		;;
	esac
	s0=$(softirq0)
	r=$(send -c "$count" -f "$fam" -n "$n" -t 60)
	s1=$(softirq0)
	case $tool in
	empty) xdp_off ;;
	xdptop | pmacctd) kill -INT "$pid"; wait "$pid" || true ;;
	pktstat) wait "$pid" || true ;;
	esac
	local sent elapsed
	sent=$(field sent "$r")
	elapsed=$(field elapsed "$r")
	if [ "$tool" = none ] || [ "$tool" = empty ]; then
		SOFTIRQ_BASE[$tool]=$(awk -v a="$s0" -v b="$s1" -v n="$sent" 'BEGIN { print (b - a) / n * 1e6 }')
		if [ "$tool" = none ]; then
			PKTSTAT_WINDOW=$(awk -v e="$elapsed" 'BEGIN { w = int(e * 3 + 3); if (w > 25) w = 25; print w }')
		fi
	fi
	if [ -s "$out" ]; then
		if [ "$tool" = xdptop ]; then
			tail -n 1 "$out" >"$out.last"
			mv "$out.last" "$out"
		fi
		cmp=$(/usr/bin/python3 bench/compare.py "$tool" "$out" "$fam" "$n" "$sent")
	elif [ "$tool" != none ] && [ "$tool" != empty ]; then
		cmp="reported=0 exact=0 counted=0 lost=$sent untracked=0"
	fi
	local st="" base=none
	[ -s "$stat" ] && st=$(cat "$stat")
	if [ "$tool" = xdptop ]; then base=empty; fi
	LAST_ROW=$(awk -v label="$label" -v n="$n" -v sent="$sent" -v el="$elapsed" \
		-v s0="$s0" -v s1="$s1" -v base="${SOFTIRQ_BASE[$base]:-}" -v tool="$tool" \
		-v rep="$(field reported "$cmp")" -v exact="$(field exact "$cmp")" \
		-v lost="$(field lost "$cmp")" -v untr="$(field untracked "$cmp")" \
		-v cpu="$(field cpu_s "$st")" -v rcpu="$(field rusage_cpu_s "$st")" \
		-v rss="$(field peak_rss_kb "$st")" -v mrss="$(field max_rss_kb "$st")" \
		-v top="$*" 'BEGIN {
		m = sent / 1e6; sirq = (s1 - s0) / m
		if (tool == "none" || tool == "empty") {
			printf "| %s | %s | %.0f | - | - | - | - | %.3f | (baseline) | - |\n", \
				label, n, sent / el, sirq
			exit
		}
		c = (rcpu > cpu) ? rcpu : cpu
		ex = (top ~ /--top/) ? "top 20 shown" : sprintf("%s of %s", exact, n)
		un = (untr > 0) ? sprintf(" (%s untracked)", untr) : ""
		printf "| %s | %s | %.0f | %s | %s | %s%s | %.3f | %.3f | %+.3f vs %s | %.0f / %.0f MiB |\n", \
			label, n, sent / el, rep, ex, lost, un, c / m, sirq, sirq - base,
			(tool == "xdptop") ? "empty XDP" : "nothing", mrss / 1024, rss / 1024
	}')
}

# run_row ARGS...: run, once more if a concurrent process (another test
# run on this machine) detached the agent's program, and keep the row.
NOTES=""
run_row() {
	rm -f "$LAB_TMP/agent.err"
	run "$@"
	if grep -qs "detached\|replaced\|disappeared" "$LAB_TMP/agent.err"; then
		NOTES+="Run \"$1\" was repeated: another process detached the agent's program. "
		run "$@"
	fi
	ROWS+="$LAST_ROW"$'\n'
}

declare -A SOFTIRQ_BASE
V4_FRAMES=${PEERS_V4_FRAMES:-3000000}
V6_FRAMES=${PEERS_V6_FRAMES:-2000000}

for scen in v4 v6; do
	if [ $scen = v4 ]; then fam=4 n=10000 count=$V4_FRAMES max=65536 cache=16411
	else fam=6 n=1000000 count=$V6_FRAMES max=1048576 cache=131071
	fi
	run_row "nothing attached" none $fam $n "$count"
	run_row "empty XDP program" empty $fam $n "$count"
	run_row "**xdptop** --max-sources $max" xdptop $fam $n "$count" --max-sources "$max"
	if [ $scen = v6 ]; then
		run_row "**xdptop** --max-sources $max --top 20" xdptop $fam $n "$count" --max-sources "$max" --top 20
	fi
	run_row "pmacctd (print_cache_entries $cache)" pmacctd $fam $n "$count" "$cache"
	run_row "pktstat -1 -w $PKTSTAT_WINDOW" pktstat $fam $n "$count"
done

cat <<EOF
### 4. Peers on the same traffic: xdptop, pmacctd, pktstat

One tool at a time on v1 (CPU 1), the sender on CPU 0 sending as fast as it can (so the rate
is what each tool leaves it): $V4_FRAMES IPv4 frames from 10,000 sources, then $V6_FRAMES
IPv6 frames from 1,000,000 sources (2001:db8::/32), 64 bytes each. Every
frame the sender counts was taken by the veth (refused ones are sent again), so the per-source
truth is exact: source i got frames / sources (+1 for the first frames % sources). *sources
exact* = sources whose packet count in the tool's final output equals that truth; *lost* =
frames sent minus frames the tool counted (xdptop: its total, which includes untracked
frames). CPU = the tool's processes' utime+stime (bench/runstat: all processes of its session,
including the final report or dump at SIGINT), per million frames sent. Softirq = CPU 0's
softirq time in /proc/stat per million frames (this kernel has no CONFIG_IRQ_TIME_ACCOUNTING, so
it is sampled at each tick, HZ=250, and read in 10 ms units: +-0.02 s per run): the receive path, which
is where XDP and the pcap taps run; the difference is against the empty XDP program for xdptop
and against nothing attached for the pcap tools. RSS = largest process / sum over the
processes at its peak (pmacctd's core and plugin share the 64 MiB plugin pipe, counted in
both). pmacctd: bench/pmacctd.conf (aggregate src_host, print plugin, CSV written at SIGINT,
64 MiB pcap socket buffer, plugin_pipe_size 64 MiB / plugin_buffer_size 128 KiB). pktstat:
\`pktstat -1 -n -w W\` (one-shot: counts what it captured in its first W seconds).

| run | sources | frames/s | sources reported | sources exact | frames lost | process CPU s per Mframe | softirq s per Mframe | softirq over baseline | RSS |
|---|---:|---:|---:|---|---:|---:|---:|---|---:|
$ROWS
$NOTES
EOF
