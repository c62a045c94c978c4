#!/usr/bin/env bash
# Grades a class of N submissions (default 30) on this machine and prints
# the figures issue #16 asks for: wall time after the first build, time per
# submission, the largest disk use of one submission while it is graded,
# and whether anything is left afterwards.
#
# The class is made from the handout: every copy gets the reference's
# solutions; every fifth copy also has a tampered `common` (which must
# change no verdict) and every seventh a wrong q6 (threads). Run from the
# workspace: bash bench/grade-class.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-30}
cargo build -q --release -p grader
grader=${CARGO_TARGET_DIR:-$PWD/target}/release/grader
work=$(mktemp -d)
sampler=
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# The grader's temporary directories (each submission's, each sandbox's
# root, the class's libraries) go here, apart from anyone else's.
export TMPDIR=$work/tmp
mkdir -p "$TMPDIR"

"$grader" handout "$work/handout" >/dev/null
for i in $(seq -w 1 "$n"); do
  copy="$work/s$i"
  cp -r "$work/handout" "$copy"
  for exercise in q[0-9]*-*/; do
    cp "$exercise"src/*.rs "$copy/$exercise/src/"
  done
  if (( 10#$i % 5 == 0 )); then
    echo 'compile_error!("tampered");' > "$copy/common/src/lib.rs"
  fi
  if (( 10#$i % 7 == 0 )); then
    cp grader/examples/wrong_q6_threads.rs "$copy/q6-four-processes/src/main.rs"
  fi
done

# The first build: the instructor's workspace, once.
start=$(date +%s%N)
"$grader" --jobs 1 --out "$work/warm" "$work/s01" >/dev/null || true
first=$(( ($(date +%s%N) - start) / 1000000 ))

# The largest submission directory seen while grading, in KiB.
peak_file="$work/peak"
echo 0 > "$peak_file"
(
  peak=0
  while :; do
    for dir in "$TMPDIR"/grader-submission-*; do
      [ -d "$dir" ] || continue
      # A directory removed meanwhile is no failure of the sampler's.
      size=$(du -sk "$dir" 2>/dev/null | cut -f1) || continue
      if [ -n "$size" ] && (( size > peak )); then
        peak=$size
        echo "$peak" > "$peak_file"
      fi
    done
    sleep 0.1
  done
) &
sampler=$!

start=$(date +%s%N)
"$grader" --jobs 2 --out "$work/marks" "$work"/s[0-9]* >"$work/table" || true
took=$(( ($(date +%s%N) - start) / 1000000 ))
kill "$sampler" 2>/dev/null || true; sampler=

passed=$(grep -c ',pass,' "$work/marks/summary.csv" || true)
tampered_pass=$(awk -F, 'NR > 1 && ($1 ~ /s(05|10|15|20|25|30)$/) && $5 == "pass"' "$work/marks/summary.csv" | wc -l)
left=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 | wc -l)
echo "first build (the instructor's workspace, once): $first ms"
echo "$n submissions graded with --jobs 2: $took ms, $(( took / n )) ms a submission"
printf 'largest disk use of one submission while graded: %d KiB\n' "$(cat "$peak_file")"
printf 'verdicts: %d pass (tampered copies passing: %d), the rest fail; directories left: %d\n' "$passed" "$tampered_pass" "$left"
