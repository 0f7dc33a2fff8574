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

# --- the agent's own cost at 10,000 active sources, and at 1,000,000 ---
RATE_PPS=${AGENT_RATE:-100000}
WINDOW=${AGENT_WINDOW:-10}
MILLION=1000000
# agent_cost LABEL SOURCES FAMILY RATE LIMIT [AGENT ARGS...]: the agent's CPU
# while the sender keeps SOURCES sources active (RATE frames/s, or max: as
# fast as the veth takes them), over WINDOW seconds; LIMIT in % of a core.
agent_cost() {
	local label=$1 sources=$2 family=$3 rate=$4 limit=$5 before after sb sa r pace=()
	shift 5
	[ "$rate" = max ] || pace=(-r "$rate")
	agent_start "$LAB_TMP/cost.json" "$@"
	if [ "$sources" -gt 100000 ]; then	# every source tracked before the window
		send -c $(( 2 * sources )) -f "$family" -n "$sources" -t 60 >/dev/null
		sleep 1.5
	fi
	send -c $(( ${rate/max/1000000} * (WINDOW + 3) )) "${pace[@]}" -f "$family" \
		-n "$sources" -t $(( WINDOW + 6 )) >"$LAB_TMP/send.out" &
	local sender=$!
	sleep 1.5
	before=$(cpu_seconds "$AGENT_PID")
	sb=$(awk '{ print $1 }' "/proc/$AGENT_PID/schedstat")
	sleep "$WINDOW"
	after=$(cpu_seconds "$AGENT_PID")
	sa=$(awk '{ print $1 }' "/proc/$AGENT_PID/schedstat")
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT_PID/status")
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT_PID/status")
	# At full speed the sender stops at its time limit, before its count
	# (its exit 3); paced, it must send them all.
	local rc=0
	wait "$sender" || rc=$?
	[ "$rc" -eq 0 ] || { [ "$rc" -eq 3 ] && [ "$rate" = max ]; }
	agent_stop
	tracked=$(tail -n 1 "$LAB_TMP/cost.json" | /usr/bin/python3 -c \
		'import json, sys; print(json.load(sys.stdin)["tracked_sources"])')
	r=$(cat "$LAB_TMP/send.out")
	out_kb=$(( $(stat -c %s "$LAB_TMP/cost.json") / 1024 ))
	awk -v l="$label" -v b="$before" -v a="$after" -v sb="$sb" -v sa="$sa" -v w="$WINDOW" \
	    -v rss="$rss" -v hwm="$hwm" -v pps="$(field pps "$r")" -v kb="$out_kb" \
	    -v n="$sources" -v tracked="$tracked" -v limit="$limit" \
	    -v marks="$LAB_TMP/marks" 'BEGIN {
		pct = (sa - sb) / 1e9 / w * 100
		active = pps < n ? pps : n
		printf "| %s | %d | %d | %.0f | %.0f | %.2f%% | %.2f%% | %.1f MiB | %.1f MiB | %d KiB | <= %s%% | %s |\n",
			l, n, tracked, active, pps, (a - b) / w * 100, pct, rss / 1024, hwm / 1024,
			kb, limit, (pct <= limit) ? "met" : "**not met**"
		ok = (pct <= limit) ? "met" : "not met"
		if (n == 10000)
			what = sprintf("agent CPU at 10,000 sources, 1 s interval, %s", l)
		else
			what = sprintf("agent CPU at 1,000,000 sources, 1 s interval, %s (%.0f active a second: the veth%ss rate)", l, active, "\047")
		printf "<!-- target | 3b | %s | %.2f%% of a core | <= %s%% | %s -->\n",
			what, pct, limit, ok >> marks }'
}
echo "  veth: agent CPU at 10,000 and 1,000,000 sources, 3 x ${WINDOW}s" >&2
echo "### 3b. The agent's CPU and memory at 10,000 and 1,000,000 sources"
echo
echo "The real agent on v1 (CPU 1, \`--format json --interval 1\`, output to a file) while the"
echo "sender keeps 10,000 IPv4 sources active at about $RATE_PPS frames/s; then, with"
echo "\`--max-sources 1048576 --top 20\`, 1,000,000 IPv6 sources, each sent twice first (so that"
echo "the tally tracks them all), then cycled over as fast as the veth takes frames: the sources"
echo "active in an interval are as many as the frames a second (*active*), every one of the"
echo "1,000,000 in the tally, which every report ranks. CPU over a ${WINDOW} s window that starts"
echo "1.5 s after the sender: utime+stime from /proc/PID/stat (10 ms ticks) and the scheduler's"
echo "exact runtime (/proc/PID/schedstat), as a share of one core. RSS at the end of the window."
echo
echo "| agent | sources | tracked | active a second | frames/s | CPU (utime+stime) | CPU (schedstat) | VmRSS | VmHWM | JSON written | target | met? |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
agent_cost "default: every source in every report" 10000 4 "$RATE_PPS" 0.5
agent_cost "--top 20" 10000 4 "$RATE_PPS" 0.5 --top 20
agent_cost "--top 20" "$MILLION" 6 max 5 --max-sources 1048576 --top 20
echo
cat "$LAB_TMP/marks"
echo
