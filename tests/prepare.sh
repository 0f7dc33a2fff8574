#!/bin/sh
# What the suite needs from the machine before it starts: a bpf filesystem
# (for the tools that pin) and no namespace left by an earlier, killed run
# (test namespaces are xdpt-<pid>-<n>: only those of dead processes go).
set -e
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
for ns in $(ip netns list | awk '/^xdpt-/ {print $1}'); do
	pid=$(echo "$ns" | cut -d- -f2)
	[ -d "/proc/$pid" ] || ip netns del "$ns"
done
