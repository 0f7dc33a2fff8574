#!/bin/bash
# xdptop's demo: a private pair of network namespaces joined by a veth, real
# captures (tests/data, from tcpdump's test suite: IPv4, IPv6, VLAN, QinQ,
# non-IP) replayed from one end, xdptop counting on the other. Halfway, a few
# sources flood, so that the ranking has something to show. In a terminal it
# shows the live view (q quits early); otherwise log lines. Bounded in time;
# everything is removed afterwards, also on Ctrl-C or failure.
# usage: scripts/demo.sh [XDPTOP] [SECONDS]
set -eu
XDPTOP=$(realpath "${1:-build/xdptop}")
SECONDS_TO_RUN=${2:-10}
DATA=$(dirname "$(realpath "$0")")/../tests/data
SENDER=xdptop-demo-$$-tx
RECEIVER=xdptop-demo-$$-rx
FLOOD="bfd-sbfd.pcap ipv4_tcp_http_xml.pcap"	# 3 sources, flooding at 20,000 frames/s

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

ip netns add "$SENDER"
ip netns add "$RECEIVER"
ip -n "$SENDER" link add tx0 type veth peer name rx0 netns "$RECEIVER"
for pair in "$SENDER tx0" "$RECEIVER rx0"; do
	set -- $pair
	ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
	ip -n "$1" link set "$2" mtu 9000 up
done

# Replays in the background, each bounded by timeout: every capture at 400
# frames/s (each in ~4 s, looped), and from the middle of the run on, the
# flood.
replay() { # DELAY PPS PCAP...
	local delay=$1 pps=$2
	shift 2
	timeout $((SECONDS_TO_RUN + 1)) bash -c 'sleep "$0" && exec "$@"' "$delay" \
		ip netns exec "$SENDER" tcpreplay -q --pps "$pps" --loop 1000000 -i tx0 "$@" \
		>/dev/null 2>&1 &
	SENDERS="${SENDERS:-} $!"
}
start_senders() {
	replay 0 400 "$DATA"/*.pcap
	replay $((SECONDS_TO_RUN / 2)) 20000 $(for f in $FLOOD; do echo "$DATA/$f"; done)
}

echo "demo: replaying $(ls "$DATA"/*.pcap | wc -l) real captures for ${SECONDS_TO_RUN}s" \
     "from namespace $SENDER, a flood from the middle on; xdptop counts on rx0 in $RECEIVER" >&2
if [ -t 1 ]; then
	VIEW=(--interval 1 --count "$SECONDS_TO_RUN")	# the live view
else
	VIEW=(--format log --interval 2 --count $(((SECONDS_TO_RUN + 1) / 2)) --top 15)
fi
start_senders
ip netns exec "$RECEIVER" "$XDPTOP" "${VIEW[@]}" rx0
echo "demo: done; namespaces removed" >&2
