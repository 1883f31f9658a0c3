#!/usr/bin/env bash
# A short run of every fuzz target (default 30 s each; FUZZ_SECONDS=N to change), seeded from
# the golden vectors. Installs cargo-fuzz when missing; uses the nightly toolchain with
# AddressSanitizer when present, else stable without a sanitizer. Exits non-zero on any crash.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-30}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
  flags=()
else
  fuzz=(cargo fuzz)
  flags=(--sanitizer none)
fi
python3 seed_corpus.py

targets=$("${fuzz[@]}" list)
# Built first, with the network at hand; then, where `unshare` works (root), each target runs in
# a network namespace with only a loopback interface: none needs more, and client_response
# drives the real HTTP client against responses that may name any host.
"${fuzz[@]}" build "${flags[@]}"
sandbox=()
if unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
  sandbox=(unshare -n sh -c 'ip link set lo up && exec "$@"' sh)
fi
status=0
for target in $targets; do
  log=$(mktemp)
  echo "--- $target (${seconds} s)"
  if "${sandbox[@]}" "${fuzz[@]}" run "${flags[@]}" "$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    echo "$target: ${runs:-?} executions, no crash"
  else
    echo "$target: CRASH or build failure; the tail of its log:"
    tail -40 "$log"
    status=1
  fi
  rm -f "$log"
done
exit $status
