# shellcheck shell=bash
# The veth lab, sourced by veth.sh and peers.sh: two namespaces of this
# process, xdpb-<pid>-a (the sender, v0) and xdpb-<pid>-b (the receiver, v1),
# joined by one veth pair whose both ends are inside them. No addresses, no
# route, IPv6 and forwarding off: frames sent to v1 are counted by whatever
# watches v1 and then dropped by v1's stack, nothing answers. Everything
# goes on exit, also on failure or a signal.
#
# Needs: BUILD (the build directory).

NS_A="xdpb-$$-a"
NS_B="xdpb-$$-b"
LAB_PIDS=()
LAB_TMP=$(mktemp -d /tmp/xdpb-$$.XXXXXX)

lab_down() {
	set +e # runs from the EXIT trap, also under set -e: every step must run
	local pid
	for pid in "${LAB_PIDS[@]}"; do
		kill -INT "$pid" 2>/dev/null
	done
	sleep 0.2
	for pid in "${LAB_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	rm -rf "$LAB_TMP"
}
trap lab_down EXIT
trap 'exit 130' INT TERM

lab_up() {
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip -n "$NS_A" link add v0 type veth peer name v1 netns "$NS_B"
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 net.ipv4.ip_forward=0
	done
	ip -n "$NS_A" link set v0 address 02:00:00:00:00:02 mtu 1500 up
	ip -n "$NS_B" link set v1 address 02:00:00:00:00:01 mtu 1500 up
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
}

# Frames v1 has received (the veth's own count, inside the namespace).
rx_packets() {
	ip netns exec "$NS_B" cat /sys/class/net/v1/statistics/rx_packets
}

# sender ARGS...: runs the bounded sender on CPU 0 in the sender namespace;
# prints its result line.
send() {
	ip netns exec "$NS_A" taskset -c 0 "$BUILD/bench/sender" -i v0 "$@"
}

# Field NAME=value from a line of key=value pairs.
field() {
	tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"
}

xdp_empty_on() {
	ip -n "$NS_B" link set dev v1 xdpdrv obj "$BUILD/bench/empty.bpf.o" sec xdp
}

xdp_off() {
	ip -n "$NS_B" link set dev v1 xdpdrv off 2>/dev/null
	ip -n "$NS_B" link set dev v1 xdpgeneric off 2>/dev/null
	return 0
}

# agent_start OUTFILE ARGS...: starts build/xdptop on v1 (CPU 1), JSON every
# second into OUTFILE; sets AGENT_PID once it has attached.
agent_start() {
	local out=$1
	shift
	ip netns exec "$NS_B" taskset -c 1 "$BUILD/xdptop" --format json --interval 1 "$@" v1 \
		>"$out" 2>"$LAB_TMP/agent.err" &
	AGENT_PID=$!
	LAB_PIDS+=("$AGENT_PID")
	for _ in $(seq 100); do
		grep -q "Attached XDP program" "$LAB_TMP/agent.err" && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "xdptop did not attach: $(cat "$LAB_TMP/agent.err")" >&2
	return 1
}

# Waits until FILE holds PATTERN, SECONDS at most; 1 when it never did.
wait_for() { # FILE PATTERN SECONDS
	for _ in $(seq $(( $3 * 20 ))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

agent_stop() {
	kill -INT "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
}

# utime + stime of a process, in seconds.
cpu_seconds() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}

# Softirq time of every CPU so far, in seconds (/proc/stat, tick-sampled).
softirq_seconds() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print $8 / hz }' /proc/stat
}
