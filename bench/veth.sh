#!/bin/bash
# veth.sh BUILD: frames per second a namespace receives over veth with
# nothing, the empty XDP program, or the real agent attached; then the agent's
# own CPU and memory at 10,000 active sources. Prints Markdown.
set -euo pipefail
BUILD=$1
FRAMES=${VETH_FRAMES:-500000}
TRIALS=${VETH_TRIALS:-4}
cd "$(dirname "$0")/.."
source bench/lab.sh
lab_up

# run_mode MODE SOURCES: one bounded send with MODE on v1; sets RX (v1's
# rx_packets delta), ELAPSED, SENT and TOTAL (the agent's, or -).
run_mode() {
	local mode=$1 sources=$2 before after r
	TOTAL=-
	case $mode in
	empty) xdp_empty_on ;;
	xdptop) agent_start "$LAB_TMP/agent.json" ;;
	esac
	before=$(rx_packets)
	r=$(send -c "$FRAMES" -f 4 -n "$sources" -t 30)
	after=$(rx_packets)
	case $mode in
	empty) xdp_off ;;
	xdptop)
		agent_stop
		TOTAL=$(tail -n 1 "$LAB_TMP/agent.json" | /usr/bin/python3 -c \
			'import json, sys; print(json.load(sys.stdin)["total"]["packets"])')
		;;
	esac
	RX=$(( after - before ))
	ELAPSED=$(field elapsed "$r")
	SENT=$(field sent "$r")
}

echo "  veth: throughput, $TRIALS trials x 3 modes x 2 source mixes of $FRAMES frames" >&2
declare -A RATE
CHECK=ok
MARK=""
for sources in 1 10000; do
	for trial in $(seq "$TRIALS"); do
		# Rotate the order so that drift hits every mode alike.
		modes=(none empty xdptop)
		for i in $(seq 0 $(( trial % 3 - 1 )) ); do modes=("${modes[@]:1}" "${modes[0]}"); done
		for mode in "${modes[@]}"; do
			run_mode "$mode" "$sources"
			if [ "$TOTAL" != - ] && [ "$TOTAL" != "$SENT" ] &&
			   grep -qs "detached\|replaced" "$LAB_TMP/agent.err"; then
				# Another process (a test run on this machine) took the
				# agent's program off v1: once more.
				run_mode "$mode" "$sources"
			fi
			[ "$RX" = "$SENT" ] || CHECK="rx_packets $RX != sent $SENT ($mode)"
			[ "$TOTAL" = - ] || [ "$TOTAL" = "$SENT" ] || CHECK="agent total $TOTAL != sent $SENT"
			RATE[$sources,$mode,$trial]=$(awk -v n="$RX" -v t="$ELAPSED" 'BEGIN { printf "%.0f", n / t }')
		done
	done
done

echo "### 2. veth throughput: frames per second received in the namespace"
echo
echo "The sender (bench/sender.c: AF_PACKET, PACKET_QDISC_BYPASS, sendmmsg of 64 frames; frames the"
echo "veth refuses are sent again) runs on CPU 0 in one namespace and sends $FRAMES IPv4 frames of 64"
echo "bytes as fast as it can to v1 in the other; v1's receive path (veth NAPI, XDP, the stack, which"
echo "drops them: no route) runs on CPU 0 too, in the sender's softirq. Received = v1's rx_packets"
echo "delta (equal to the frames sent in every run: $CHECK; the agent's total too), over the sender's"
echo "elapsed time. $TRIALS trials, each running the three modes back to back (in rotating order);"
echo "rates are medians over the trials, ratios the median of each trial's ratio. xdptop = the real"
echo "agent (\`build/xdptop --format json --interval 1 v1\`, CPU 1, native mode); empty ="
echo "bench/empty.bpf.c attached with \`ip link set dev v1 xdpdrv obj ...\`."
echo
echo "| sources | nothing attached | empty XDP | xdptop | xdptop / empty | xdptop / nothing | target | met? | runs (kpps: nothing / empty / xdptop) |"
echo "|---:|---:|---:|---:|---:|---:|---|---|---|"
for sources in 1 10000; do
	runs=""
	for trial in $(seq "$TRIALS"); do
		runs+="${RATE[$sources,none,$trial]} ${RATE[$sources,empty,$trial]} ${RATE[$sources,xdptop,$trial]}"$'\n'
	done
	out=$(awk -v s="$sources" '
		function med(a, n,   i, j, t) {
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		NF == 3 { n++; no[n] = $1; em[n] = $2; xd[n] = $3; re[n] = $3 / $2; rn[n] = $3 / $1
			  txt = txt sprintf("%s%.0f / %.0f / %.0f", sep, $1 / 1000, $2 / 1000, $3 / 1000); sep = "; " }
		END {
			r = med(re, n); ok = (r >= 0.95) ? "met" : "not met"
			printf "| %s | %.0f kpps | %.0f kpps | %.0f kpps | %.3f | %.3f | xdptop / empty >= 0.95 | %s | %s |",
				s, med(no, n) / 1000, med(em, n) / 1000, med(xd, n) / 1000, r, med(rn, n),
				(ok == "met") ? "met" : "**not met**", txt
			printf "\n<!-- target | 2 | veth frames/s with the agent, %s source%s | %.3f of the empty program | >= 0.95 | %s -->\n",
				s, (s > 1) ? "s" : "", r, ok
		}' <<<"$runs")
	head -n 1 <<<"$out"
	MARK+="$(tail -n 1 <<<"$out")"$'\n'
done
echo
echo "$MARK"

# --- the agent's own cost at 10,000 active sources ---
RATE_PPS=${AGENT_RATE:-100000}
WINDOW=${AGENT_WINDOW:-10}
agent_cost() {
	local label=$1 before after sb sa r
	shift
	agent_start "$LAB_TMP/cost.json" "$@"
	send -c $(( RATE_PPS * (WINDOW + 3) )) -r "$RATE_PPS" -f 4 -n 10000 -t $(( WINDOW + 6 )) \
		>"$LAB_TMP/send.out" &
	local sender=$!
	sleep 1.5
	before=$(cpu_seconds "$AGENT_PID")
	sb=$(awk '{ print $1 }' "/proc/$AGENT_PID/schedstat")
	sleep "$WINDOW"
	after=$(cpu_seconds "$AGENT_PID")
	sa=$(awk '{ print $1 }' "/proc/$AGENT_PID/schedstat")
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT_PID/status")
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT_PID/status")
	wait "$sender"
	agent_stop
	r=$(cat "$LAB_TMP/send.out")
	out_kb=$(( $(stat -c %s "$LAB_TMP/cost.json") / 1024 ))
	awk -v l="$label" -v b="$before" -v a="$after" -v sb="$sb" -v sa="$sa" -v w="$WINDOW" \
	    -v rss="$rss" -v hwm="$hwm" -v pps="$(field pps "$r")" -v kb="$out_kb" \
	    -v marks="$LAB_TMP/marks" 'BEGIN {
		pct = (sa - sb) / 1e9 / w * 100
		printf "| %s | %.0f | %.2f%% | %.2f%% | %.1f MiB | %.1f MiB | %d KiB | <= 0.5%% | %s |\n",
			l, pps, (a - b) / w * 100, pct, rss / 1024, hwm / 1024, kb,
			(pct <= 0.5) ? "met" : "**not met**"
		ok = (pct <= 0.5) ? "met" : "not met"
		printf "<!-- target | 3b | agent CPU at 10,000 sources, 1 s interval, %s | %.2f%% of a core | <= 0.5%% | %s -->\n",
			l, pct, ok >> marks }'
}
echo "  veth: agent CPU at 10,000 sources, 2 x ${WINDOW}s" >&2
echo "### 3b. The agent's CPU and memory at 10,000 active sources"
echo
echo "The real agent on v1 (CPU 1, \`--format json --interval 1\`, output to a file) while the"
echo "sender keeps 10,000 IPv4 sources active at about $RATE_PPS frames/s. CPU over a ${WINDOW} s window"
echo "that starts 1.5 s after the sender: utime+stime from /proc/PID/stat (10 ms ticks) and the"
echo "scheduler's exact runtime (/proc/PID/schedstat), as a share of one core. RSS at the end of"
echo "the window."
echo
echo "| agent | frames/s | CPU (utime+stime) | CPU (schedstat) | VmRSS | VmHWM | JSON written | target | met? |"
echo "|---|---:|---:|---:|---:|---:|---:|---|---|"
agent_cost "default: every source in every report"
agent_cost "--top 20" --top 20
echo
cat "$LAB_TMP/marks"
echo
