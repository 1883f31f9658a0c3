#!/usr/bin/env bash
# The Java benchmarks (JMH): the binding against what a Java team writes by hand, like for like.
#
#   sign        Credentials.signNow().asMap() vs MessageDigest SHA-1 + a 16-byte SecureRandom
#               nonce in hex + the clock, both ending with the four headers in a map;
#   verify      CallbackVerifier.verify of a 1 KiB body vs MD5 + SHA-1 + MessageDigest.isEqual +
#               AppKey and time checks, both ending with yes or no;
#   client      Client.query against the mock (a subprocess on 127.0.0.1) vs a hand-rolled
#               HttpURLConnection loop that signs, posts, reads and checks the code.
#
# Builds the JNI library and the mock, installs the library jar in the local Maven repository,
# packages target/benchmarks.jar, runs it and prints each figure and the ratio library/hand-rolled
# (above 1.0: the library is faster). JMH options may be given, e.g. bash bench/java/run.sh -wi 5 -i 10
# (default: -wi 2 -i 3 -f 1 -w 1s -r 2s, short enough for a shared machine; the errors JMH
# prints say how far to trust one run).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -q -p yunxin-ecp-jni -p yunxin-ecp-mock
(cd java && mvn -q -B -Dstyle.color=never install -DskipTests -Dnative.dir="$CARGO_TARGET_DIR/release")
cd bench/java
# clean: the benchmarks are compiled against the jar just installed, never against stale classes.
mvn -q -B -Dstyle.color=never clean package
if [ "$#" -eq 0 ]; then
  set -- -wi 2 -i 3 -f 1 -w 1s -r 2s
fi
YUNXIN_ECP_MOCK="$CARGO_TARGET_DIR/release/yunxin-ecp-mock" \
  java -jar target/benchmarks.jar "$@" -rf csv -rff target/jmh.csv >target/jmh.log 2>&1 || {
  tail -n 40 target/jmh.log >&2
  exit 1
}
awk -F, '
  NR > 1 {
    gsub(/"/, "");
    split($1, name, ".");
    bench = name[length(name) - 1]; side = name[length(name)];
    score[bench, side] = $5; err[bench, side] = $6;
    if (!(bench in seen)) { seen[bench] = 1; order[++n] = bench }
  }
  END {
    label["SignBench"] = "sign (headers ready)";
    label["VerifyBench"] = "callback verify 1 KiB";
    label["ClientBench"] = "client query vs mock";
    printf "%-24s %22s %22s %8s\n", "benchmark (ops/s)", "library", "hand-rolled", "ratio";
    for (i = 1; i <= n; i++) {
      b = order[i];
      l = score[b, "library"]; h = score[b, "handRolled"];
      printf "%-24s %12.0f ± %-7.0f %12.0f ± %-7.0f %7.2fx\n", label[b], l, err[b, "library"], h, err[b, "handRolled"], (h > 0 ? l / h : 0);
    }
  }' target/jmh.csv
# A benchmark that failed (an exception in its setup) leaves no score: say so, and fail.
for bench in SignBench VerifyBench ClientBench; do
  for side in library handRolled; do
    if ! grep -q "\.$bench\.$side\"" target/jmh.csv; then
      echo "no score for $bench.$side:" >&2
      grep -A3 -m1 -E "Exception|Error" target/jmh.log >&2
      exit 1
    fi
  done
done
