#!/bin/bash
# against.sh REV [RUNS]: the default key's per-frame cost in this tree
# against revision REV's, REV built in a worktree of its own: RUNS times
# (4 by default), REV's `prog_cost -p f -n 11` and this tree's, back to
# back, each first in every other run. The figure is 1f's default column as
# a ratio to the empty program: the ratio is taken within each round, so it
# survives the host's drift between runs that ns per frame do not
# (prog_cost.c). Prints, per run and
# over all, the geometric mean of each build's ratios over the 8 blocks, and
# this tree's over REV's. Needs root. BUILD: this tree's build (build).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bench/against.sh REV [RUNS]" >&2; exit 2; }
rev=$1 runs=${2:-4} BUILD=${BUILD:-build}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/xdpb-against-$$.XXXXXX)
trap 'git worktree remove --force "$tmp/tree" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add --detach "$tmp/tree" "$rev" >/dev/null
echo "against.sh: building $rev and this tree" >&2
make -s -C "$tmp/tree" BUILD=build bench-build -j"$(nproc)" >/dev/null
make -s BUILD="$BUILD" bench-build -j"$(nproc)" >/dev/null

# One run of a build's prog_cost 1f into FILE; its progress and errors in
# FILE.err, shown when it fails.
measure() {
	"$1" -p f -n 11 >"$2" 2>"$2.err" || { cat "$2.err" >&2; exit 1; }
}
# Each run in turn goes first: what comes first in a run does not favour
# one build.
for ((i = 1; i <= runs; i++)); do
	echo "against.sh: run $i of $runs" >&2
	if ((i % 2)); then
		measure "$tmp/tree/build/bench/prog_cost" "$tmp/old.$i"
		measure "$BUILD/bench/prog_cost" "$tmp/new.$i"
	else
		measure "$BUILD/bench/prog_cost" "$tmp/new.$i"
		measure "$tmp/tree/build/bench/prog_cost" "$tmp/old.$i"
	fi
done
/usr/bin/python3 - "$rev" "$(git rev-parse --short HEAD)" "$tmp" "$runs" <<'PY'
import math, re, sys
rev, head, tmp, runs = sys.argv[1:]

def ratios(path):
    """1f's default column, ratio to the empty program, of its 8 blocks."""
    rows = [line.split("|") for line in open(path) if re.match(r"\| (IPv|802|QinQ)", line)]
    found = [float(re.search(r"\(([\d.]+)x\)", row[4]).group(1)) for row in rows]
    assert len(found) == 8, (path, found)
    return found

def gmean(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs))

old = [ratios(f"{tmp}/old.{i}") for i in range(1, int(runs) + 1)]
new = [ratios(f"{tmp}/new.{i}") for i in range(1, int(runs) + 1)]
print(f"| run | {rev} | this tree ({head}) | this tree / {rev} |")
print("|---:|---:|---:|---:|")
for i, (a, b) in enumerate(zip(old, new), 1):
    print(f"| {i} | {gmean(a):.3f}x | {gmean(b):.3f}x | {gmean(b) / gmean(a):.3f} |")
a, b = gmean(sum(old, [])), gmean(sum(new, []))
print(f"| all | {a:.3f}x | {b:.3f}x | **{b / a:.3f}** |")
PY
