#!/bin/bash
# xdptop's demo: a private pair of network namespaces joined by a veth, real
# captures (tests/data, from tcpdump's test suite: IPv4, IPv6, VLAN, QinQ,
# non-IP) replayed from one end, xdptop counting on the other. Bounded in
# time; everything is removed afterwards, also on Ctrl-C or failure.
# usage: scripts/demo.sh [XDPTOP] [SECONDS]
set -eu
XDPTOP=$(realpath "${1:-build/xdptop}")
SECONDS_TO_RUN=${2:-10}
DATA=$(dirname "$(realpath "$0")")/../tests/data
SENDER=xdptop-demo-$$-tx
RECEIVER=xdptop-demo-$$-rx

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (namespaces, XDP): run 'sudo make demo'" >&2
	exit 3
fi
cleanup() {
	trap - EXIT INT TERM
	[ -n "${AGENT:-}" ] && kill -INT "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	ip netns del "$SENDER" 2>/dev/null || true
	ip netns del "$RECEIVER" 2>/dev/null || true
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

echo "demo: replaying $(ls "$DATA"/*.pcap | wc -l) real captures for ${SECONDS_TO_RUN}s" \
     "from namespace $SENDER; xdptop counts on rx0 in $RECEIVER" >&2
ip netns exec "$RECEIVER" "$XDPTOP" --interval 2 --top 15 rx0 &
AGENT=$!
sleep 0.5
# 400 frames/s: every capture in ~4 s, looped; bounded by timeout.
timeout "$SECONDS_TO_RUN" ip netns exec "$SENDER" \
	tcpreplay -q --pps 400 --loop 100 -i tx0 "$DATA"/*.pcap >/dev/null 2>&1 || true
sleep 0.5
kill -INT "$AGENT"
wait "$AGENT"
AGENT=
echo "demo: done; namespaces removed" >&2
