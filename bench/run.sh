#!/bin/bash
# run.sh BUILD: runs every benchmark (make bench calls it after building),
# prints the tables as they come and writes them all into BENCHMARKS.md with
# the machine they ran on. Needs root (BPF, namespaces). Each part:
#   prog_cost  BPF per-frame cost (BPF_PROG_TEST_RUN)       1a-1f
#   read_cost  the agent's userspace work                    3a
#   memory     the real agent's memory on a veth, then
#              read_cost's all-in table                     3c
#   veth.sh    veth throughput; the agent's CPU and RSS      2, 3b
#   peers.sh   xdptop, pmacctd, pktstat on the same traffic  4
#   export.sh  xdptop --ipfix, softflowd, fprobe to nfacctd 5
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
OUT=BENCHMARKS.md
TMP=$(mktemp -d /tmp/xdpb-run-$$.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
START=$(date +%s)

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (BPF programs, network namespaces)" >&2
	exit 1
fi
# Namespaces left by a bench run that was killed (xdpb-<pid>-*, pid gone).
for ns in $(ip netns list | awk '/^xdpb-[0-9]+-/ { print $1 }'); do
	pid=$(cut -d- -f2 <<<"$ns")
	[ -d "/proc/$pid" ] || ip netns del "$ns"
done

part() { # NAME COMMAND...: runs one part, its tables to TMP/NAME.md and stdout
	local name=$1 t0
	shift
	t0=$(date +%s)
	echo "== $name" >&2
	if "$@" >"$TMP/$name.md"; then
		:
	else
		echo "**$name failed (exit $?)**: see the output of make bench." >>"$TMP/$name.md"
	fi
	grep -v '^<!-- target' "$TMP/$name.md" || true
	echo "   ($name: $(( $(date +%s) - t0 )) s)" >&2
}

# agent_memory: the real agent on a veth (bench/lab.sh, in a subshell: its
# own namespaces and exit trap) at the default --max-sources and at
# 1,048,576, each after a fill of every source twice; one read_cost -m
# argument per agent (MAX:SOURCES:TRACKED:HWM_KIB:RSS_KIB:LABEL).
agent_memory() {
	(
		source bench/lab.sh
		lab_up
		for spec in "65536 65536" "1048576 1000000" "1048576 1000000 --top 20"; do
			set -- $spec
			local max=$1 n=$2 kib tracked
			shift 2
			echo "  memory: the agent at --max-sources $max${*:+ $*}, $n sources" >&2
			agent_start "$LAB_TMP/mem.json" --max-sources "$max" "$@"
			send -c $(( 2 * n )) -f 6 -n "$n" -t 60 >/dev/null
			sleep 2.5 # two intervals: the fill is in the tally
			kib=$(awk '/^VmHWM/ { h = $2 } /^VmRSS/ { r = $2 } END { print h ":" r }' \
				"/proc/$AGENT_PID/status")
			agent_stop
			tracked=$(tail -n 1 "$LAB_TMP/mem.json" | /usr/bin/python3 -c \
				'import json, sys; print(json.load(sys.stdin)["tracked_sources"])')
			echo "$max:$n:$tracked:$kib:${*:-default}"
		done
	)
}

memory() {
	local args=() line
	while read -r line; do
		args+=(-m "$line")
	done < <(agent_memory)
	"$BUILD/bench/read_cost" -p c "${args[@]}"
}

part prog_cost "$BUILD/bench/prog_cost"
part read_cost "$BUILD/bench/read_cost" -p a
part memory memory
part veth bench/veth.sh "$BUILD"
# peer_part NAME TITLE "TOOLS" "PACKAGES" COMMAND...: a part that needs
# other tools, said not measured when one is not installed.
peer_part() {
	local name=$1 title=$2 tools=$3 packages=$4 missing="" tool
	shift 4
	for tool in $tools; do
		command -v "$tool" >/dev/null || missing+=" $tool"
	done
	if [ -z "$missing" ]; then
		part "$name" "$@"
	else
		printf '### %s\n\nNot measured: not installed:%s (apt-get install %s).\n\n' \
			"$title" "$missing" "$packages" >"$TMP/$name.md"
	fi
}

peer_part peers "4. Peers" "pmacctd pktstat" "pmacct pktstat" bench/peers.sh "$BUILD"
peer_part export "5. Exporting to a flow collector" "nfacctd softflowd fprobe" \
	"pmacct softflowd fprobe" bench/export.sh "$BUILD"
ELAPSED=$(( $(date +%s) - START ))

# The Targets table: every part's target lines and, beside each, the figure
# before issue 17: the figures its text gives (make bench of 4bc3fe9), and for
# the rows it does not list, the last run before its work (fc92e83's, in the
# BENCHMARKS.md of BEFORE).
BEFORE=7fba73c
summary() {
	sed -n 's/^<!-- target | \(.*\) -->$/\1/p' "$TMP"/*.md >"$TMP/targets"
	git show "$BEFORE:BENCHMARKS.md" 2>/dev/null | /usr/bin/python3 -c '
import re, sys
before = {}
for line in sys.stdin:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 6 and re.fullmatch(r"\d[a-z]?", cells[0]):
        before[cells[0], cells[1]] = cells[2] + " (fc92e83)"
worst = "worst of IPv4/IPv6/802.1Q/QinQ"
twice = "each sent twice (half the frames claim a slot)"
issue = {
    ("1a", "xdptop, 1 source, in the caches, " + worst): "1.39x floor",
    ("1a", "xdptop, 1,000 sources, in the caches, " + worst): "1.92x floor",
    ("1a", "xdptop, 100,000 sources, %s, %s" % (twice, worst)): "2.35x floor",
    ("1a", "xdptop, 1,000,000 sources, %s, %s" % (twice, worst)):
        "2.48x floor (IPv6; 2.97x at 131,072 IPv4)",
    ("1a", "xdptop_frags, jumbo 9000 B, 1 source, in the caches"): "1.59x floor",
    ("1a", "xdptop_frags, jumbo 9000 B, 1,000 sources, in the caches"): "1.84x floor",
    ("1b", "xdptop under a flood of 1048576 sources into a full 65,536-source table"):
        "2.97x floor",
    ("3a", "drain, merge, rank and format the top 20 of 1000000 sources"): "47-55 ms",
    ("3c", "memory all in per tracked source, 1,000,000 sources, worst of 2, 64 and "
           "256 CPUs"): "393 B",
    ("3c", "memory all in per interface, --max-sources 65536, 256 CPUs (BPF maps + "
           "the agent\N{APOSTROPHE}s own)"): "61.8 MiB",
}
before.update(issue)
print("| part | what | measured | target | met? | before |")
print("|---|---|---|---|---|---|")
rows = [line.split(" | ") for line in open(sys.argv[1]).read().splitlines()]
for part, what, measured, target, met in sorted(rows, key=lambda r: r[0]):
    print("| %s | %s | %s | %s | %s | %s |" % (part, what, measured, target,
          met if met == "met" else "**%s**" % met, before.get((part, what), "-")))
' "$TMP/targets"
}

model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
hyper=$(lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -1)
caches=$(lscpu | awk -F': *' '/^L[123].? cache/ { printf "%s%s %s", sep, $1, $2; sep = ", " }')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- src 2>/dev/null | grep -q . && echo " (src/ with uncommitted changes)" || true)
{
	cat <<EOF
# xdptop benchmarks

Written by \`make bench\` (bench/run.sh) on $(date -u +%Y-%m-%d) in ${ELAPSED} s; every table
below is regenerated by each run. Commit $commit$dirty.

| machine | |
|---|---|
| CPU | $model, $(nproc) cores${hyper:+ (virtual machine, $hyper)} |
| caches | $caches |
| memory | $(free -g | awk '/^Mem:/ { print $2 }') GiB |
| kernel | $(uname -r), $(cut -d' ' -f1-3 /etc/debian_version 2>/dev/null | sed 's/^/Debian /') |
| toolchain | $(clang --version | head -1), bpftool $(bpftool version 2>/dev/null | sed -n 's/^bpftool v//p'), libbpf $(bpftool version 2>/dev/null | sed -n 's/^using libbpf v//p') |
| peers | $(pmacctd -V 2>/dev/null | head -1 | sed 's/.*pmacctd /pmacctd /; s/ .RELEASE.//' || echo "pmacctd: none"), pktstat $(dpkg-query -W -f '${Version}' pktstat 2>/dev/null || echo none) |

Command: \`make bench\` (as root; builds into $BUILD/bench/ and runs bench/run.sh). Parts alone:
\`$BUILD/bench/prog_cost [-r repeat] [-n rounds] [-q] [-p abcdefg]\`, \`$BUILD/bench/read_cost
[-p ac]\` (3c without the measured agent), \`bench/veth.sh $BUILD\`, \`bench/peers.sh $BUILD\`,
\`bench/export.sh $BUILD\`.

## Targets

Issue 17's targets (per frame near the floor at every table size and under a flood, a
million keys read in 20 ms, memory per key), and the earlier issues' targets that hold. Every
per-frame ratio is the median of the rounds' ratios to the floor program measured in the same
rounds (see Method). *before*: the figure issue 17 gives (\`make bench\` of 4bc3fe9); for a
row it does not give, the last run before its work (fc92e83, in the BENCHMARKS.md of
$BEFORE), marked so; \`-\`: a row new with issue 17.

$(summary)

EOF
	cat bench/method.md
	echo
	echo "## Results"
	echo
	# The parts' sections (### 1a. ... ### 4.), in the order of their numbers.
	cat "$TMP"/prog_cost.md "$TMP"/read_cost.md "$TMP"/memory.md "$TMP"/veth.md "$TMP"/peers.md \
		"$TMP"/export.md |
		grep -v '^<!-- target' | /usr/bin/python3 -c '
import re, sys
text = sys.stdin.read()
parts = re.split(r"(?m)^(?=### )", text)
head, sections = parts[0], parts[1:]
key = lambda s: re.match(r"### (\d+)([a-z]?)", s).groups() if re.match(r"### \d", s) else ("9", "")
sys.stdout.write(head + "".join(sorted(sections, key=key)))' 
	cat bench/analysis.md
} >"$OUT"

echo
echo "== Targets"
summary
echo
echo "Written to $OUT (${ELAPSED} s)."
