#!/bin/bash
# xdptop's demo: a private pair of network namespaces joined by a veth, real
# captures (tests/data, from tcpdump's test suite: IPv4, IPv6, VLAN, QinQ,
# non-IP) replayed from one end, xdptop counting on the other. From the fifth
# second, three sources flood for 20 s, so that the ranking has something to
# show, then calm down again. In a terminal it shows the live view (q quits
# early; its last screen stays); otherwise log lines. Bounded in time (SECONDS,
# 60 by default) and in frames; everything is removed afterwards, also on
# Ctrl-C, a hang-up or failure.
# usage: scripts/demo.sh [XDPTOP] [SECONDS]
set -eu
XDPTOP=$(realpath "${1:-build/xdptop}")
SECONDS_TO_RUN=${2:-60}
DATA=$(dirname "$(realpath "$0")")/../tests/data
SENDER=xdptop-demo-$$-tx
RECEIVER=xdptop-demo-$$-rx
FLOOD="bfd-sbfd.pcap ipv4_tcp_http_xml.pcap"	# 3 sources
FLOOD_START=5 FLOOD_SECONDS=20 FLOOD_PPS=20000
CAPTURE_PPS=400

if ! [[ $SECONDS_TO_RUN =~ ^[1-9][0-9]{0,4}$ ]] || [ "$SECONDS_TO_RUN" -gt 86400 ]; then
	echo "demo: SECONDS must be a whole number of seconds from 1 to 86400, not" \
	     "\"$SECONDS_TO_RUN\": e.g. make demo SECONDS=60" >&2
	exit 2
fi

# The flood within the run: none in a run that ends before it starts.
if [ "$SECONDS_TO_RUN" -le "$FLOOD_START" ]; then
	FLOOD_SECONDS=0
elif [ $((FLOOD_START + FLOOD_SECONDS)) -gt "$SECONDS_TO_RUN" ]; then
	FLOOD_SECONDS=$((SECONDS_TO_RUN - FLOOD_START))
fi

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (namespaces, XDP): run 'sudo make demo'" >&2
	exit 3
fi
cleanup() {
	trap - EXIT INT TERM
	set +e
	# timeout passes the signal on to the sender it runs.
	[ -n "${SENDERS:-}" ] && kill $SENDERS 2>/dev/null
	[ -n "${SENDERS:-}" ] && wait $SENDERS 2>/dev/null
	ip netns del "$SENDER" 2>/dev/null
	ip netns del "$RECEIVER" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'exit 129' HUP	# the terminal closed: clean up all the same

ip netns add "$SENDER"
ip netns add "$RECEIVER"
ip -n "$SENDER" link add tx0 type veth peer name rx0 netns "$RECEIVER"
for pair in "$SENDER tx0" "$RECEIVER rx0"; do
	set -- $pair
	ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
	ip -n "$1" link set "$2" mtu 9000 up
done

# Replays in the background, each bounded in time by timeout (the run's end)
# and in frames by --limit: every capture at 400 frames/s (each in ~4 s,
# looped) for the whole run, and the flood for FLOOD_SECONDS.
replay() { # DELAY PPS SECONDS PCAP...
	local delay=$1 pps=$2 seconds=$3
	shift 3
	timeout $((SECONDS_TO_RUN + 1)) bash -c 'sleep "$0" && exec "$@"' "$delay" \
		ip netns exec "$SENDER" tcpreplay -q --pps "$pps" --limit $((pps * seconds)) \
		--loop 1000000 -i tx0 "$@" >/dev/null 2>&1 &
	SENDERS="${SENDERS:-} $!"
}
start_senders() {
	replay 0 $CAPTURE_PPS $((SECONDS_TO_RUN + 1)) "$DATA"/*.pcap
	[ "$FLOOD_SECONDS" -eq 0 ] || replay $FLOOD_START $FLOOD_PPS $FLOOD_SECONDS \
		$(for f in $FLOOD; do echo "$DATA/$f"; done)
}

if [ "$FLOOD_SECONDS" -eq 0 ]; then
	flood="no flood: it would start at the ${FLOOD_START}th second"
else
	flood="a flood from the ${FLOOD_START}th second, for ${FLOOD_SECONDS}s"
fi
echo "demo: replaying $(ls "$DATA"/*.pcap | wc -l) real captures for ${SECONDS_TO_RUN}s" \
     "from namespace $SENDER ($flood); xdptop counts on rx0 in $RECEIVER (q quits)" >&2
if [ -t 1 ]; then
	VIEW=(--interval 1 --count "$SECONDS_TO_RUN")	# the live view
else
	VIEW=(--format log --interval 2 --count $(((SECONDS_TO_RUN + 1) / 2)) --top 15)
fi
start_senders
ip netns exec "$RECEIVER" "$XDPTOP" "${VIEW[@]}" rx0
echo "demo: done; namespaces removed" >&2
