#!/usr/bin/env bash
# The Java suite (JNI over the core), self-sufficient on a fresh Debian machine:
#
# - installs a JDK and Maven with apt-get when `java -version` or `mvn -v` fails (Maven brings
#   JUnit 5, the surefire plugin and Gson, the tests' JSON reader, from Maven Central);
# - builds the JNI library and the mock (cargo build --release -p yunxin-ecp-jni -p
#   yunxin-ecp-mock, honouring CARGO_TARGET_DIR); Maven packs the library into the jar's
#   resources (natives/linux-x86_64/), from which the tests load it as users do;
# - runs `mvn -q -B test` in java/: every signing, callback and exchange vector, the client
#   against the mock subprocess, real callbacks end to end, hostile inputs;
# - runs a fresh JVM's first touch of the library where it cannot be found (a missing file named
#   by -Dyunxinecp.native.path, and classes without the bundled library): the error must name
#   what was tried; and one where it loads from that property;
# - runs the public MockServer in fresh JVMs where the mock is found by each rule in turn
#   (yunxin-ecp-mock on PATH before yunxin-ecp, `yunxin-ecp mock` on PATH) and where it is not
#   found at all (the error must name the four places tried);
# - runs RssProbe: a million sign and callback-verify cycles (refusals among them) in a fixed,
#   pre-touched heap, failing when VmRSS grew by more than 16 MiB (a native leak);
# - installs the library jar in the local Maven repository and compiles examples/java (the
#   documents' sample, a Servlet endpoint, a Spring Boot controller: their dependencies come from
#   Maven Central, never into the library), then runs the sample against the mock, and the
#   Spring Boot application with one signed callback POSTed twice (handled once, the repeat
#   answered 200 duplicate) and one signed with another secret (refused 403).
#
# Closes with "java: N passed, M failed" (the surefire reports plus these checks); exits
# non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

need=()
java -version >/dev/null 2>&1 && javac -version >/dev/null 2>&1 || need+=(default-jdk-headless)
mvn -v >/dev/null 2>&1 || need+=(maven)
bash scripts/apt-install.sh "${need[@]}" || exit 1

cargo build --release -p yunxin-ecp-jni -p yunxin-ecp-mock || exit 1
lib="$CARGO_TARGET_DIR/release/libyunxin_ecp_jni.so"
mock="$CARGO_TARGET_DIR/release/yunxin-ecp-mock"

passed=0
failed=0

cd java || exit 1
rm -rf target/surefire-reports
mvn -q -B -Dstyle.color=never test -Dnative.dir="$CARGO_TARGET_DIR/release" -Dyunxinecp.mock="$mock"
mvn_status=$?
reports=(target/surefire-reports/TEST-*.xml)
if [ -e "${reports[0]}" ]; then
  for report in "${reports[@]}"; do
    head="$(grep -m1 '<testsuite' "$report")"
    attr() { echo "$head" | sed -E "s/.* $1=\"([0-9]+)\".*/\\1/"; }
    tests=$(attr tests)
    bad=$(($(attr errors) + $(attr failures)))
    passed=$((passed + tests - bad - $(attr skipped)))
    failed=$((failed + bad))
  done
else
  echo "no surefire report: the suite did not run" >&2
fi
if [ "$mvn_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "mvn test failed (status $mvn_status) with no failing test reported" >&2
  failed=$((failed + 1))
fi

# A fresh JVM's first touch of the library, as users get it.
check() {  # name, expected status, text the output must hold, java arguments...
  local name="$1" want_status="$2" want_text="$3"
  shift 3
  local out status
  out="$(java "$@" io.github.yunxinecp.LoadProbe 2>&1)"
  status=$?
  if [ "$status" -eq "$want_status" ] && grep -qF -- "$want_text" <<<"$out"; then
    passed=$((passed + 1))
  else
    echo "FAIL $name: status $status, output: $out" >&2
    failed=$((failed + 1))
  fi
}
if [ -d target/classes ] && [ -d target/test-classes ]; then
  bare="$(mktemp -d)"
  trap 'rm -rf "$bare"' EXIT
  cp -r target/classes/io "$bare/"
  check "loads from the jar's resources" 0 90d19362ba1584524bbd9b375b006837a4f676db -cp target/classes:target/test-classes
  check "loads from yunxinecp.native.path" 0 90d19362ba1584524bbd9b375b006837a4f676db \
    -Dyunxinecp.native.path="$lib" -cp "$bare:target/test-classes"
  check "a missing file named by the property is named" 3 "/nonexistent/libyunxin_ecp_jni.so (named by the system property yunxinecp.native.path)" \
    -Dyunxinecp.native.path=/nonexistent/libyunxin_ecp_jni.so -cp target/classes:target/test-classes
  check "no bundled library: the resource and the property are named" 3 "looked for the resource /natives/linux-x86_64/libyunxin_ecp_jni.so" \
    -cp "$bare:target/test-classes"
else
  echo "the classes were not built" >&2
  failed=$((failed + 1))
fi

# The public MockServer's search for the mock, each rule in a fresh JVM with only that rule true.
java_bin="$(command -v java)"
probe() {  # name, expected status, text the output must hold, PATH
  local name="$1" want_status="$2" want_text="$3" path="$4"
  local out status
  out="$(env -u YUNXIN_ECP_MOCK PATH="$path" "$java_bin" -cp target/classes:target/test-classes io.github.yunxinecp.MockProbe 2>&1)"
  status=$?
  if [ "$status" -eq "$want_status" ] && grep -qF -- "$want_text" <<<"$out"; then
    passed=$((passed + 1))
  else
    echo "FAIL $name: status $status, output: $out" >&2
    failed=$((failed + 1))
  fi
}
if [ -d target/classes ] && [ -x "$mock" ]; then
  bins="$(mktemp -d)"
  mkdir "$bins/mock" "$bins/cli" "$bins/both" "$bins/none"
  ln -s "$mock" "$bins/mock/yunxin-ecp-mock"
  # The operators' command: the mock is its `mock` subcommand, with the same options.
  printf '#!/bin/sh\n[ "$1" = mock ] || exit 2\nshift\nexec "%s" "$@"\n' "$mock" >"$bins/cli/yunxin-ecp"
  chmod +x "$bins/cli/yunxin-ecp"
  ln -s "$mock" "$bins/both/yunxin-ecp-mock"
  printf '#!/bin/sh\nexit 9\n' >"$bins/both/yunxin-ecp"
  chmod +x "$bins/both/yunxin-ecp"
  probe "MockServer: yunxin-ecp-mock on PATH" 0 "start_count 1" "$bins/mock"
  probe "MockServer: yunxin-ecp mock on PATH" 0 "start_count 1" "$bins/cli"
  probe "MockServer: yunxin-ecp-mock before yunxin-ecp" 0 "start_count 1" "$bins/both"
  probe "MockServer: nothing found names all it tried" 3 \
    "tried the system property yunxinecp.mock (unset), the environment variable YUNXIN_ECP_MOCK (unset), yunxin-ecp-mock on PATH, yunxin-ecp on PATH" \
    "$bins/none"
  rm -rf "$bins"
else
  echo "the classes or the mock were not built" >&2
  failed=$((failed + 1))
fi

# No native leak: RSS flat over a million sign/verify cycles (a program, not a timed test).
if [ -d target/test-classes ]; then
  if java -Xms64m -Xmx64m -XX:+AlwaysPreTouch -cp target/classes:target/test-classes io.github.yunxinecp.RssProbe; then
    passed=$((passed + 1))
  else
    echo "FAIL RssProbe" >&2
    failed=$((failed + 1))
  fi
fi

# The examples: compiled against the library as users get it (the jar from the local repository),
# and the documents' sample run against the mock.
examples_ok=0
if mvn -q -B -Dstyle.color=never install -DskipTests -Dnative.dir="$CARGO_TARGET_DIR/release" &&
  (cd ../examples/java && mvn -q -B -Dstyle.color=never compile); then
  examples_ok=1
  passed=$((passed + 1))
else
  echo "FAIL the examples did not compile" >&2
  failed=$((failed + 1))
fi
if [ "$examples_ok" -eq 1 ]; then
  coproc MOCK { exec "$mock" --port 0 --exit-on-stdin-eof; }
  read -r -t 60 first <&"${MOCK[0]}" || first=""
  base_url="${first#listening on }"
  out="$(YUNXIN_APP_KEY=fd460d34e786e7754e505bc4fab0f027 YUNXIN_APP_SECRET=xxxxxxxx YUNXIN_BASE_URL="$base_url" \
    java -cp "../examples/java/sample/target/classes:target/classes" example.Sample 2>&1)"
  status=$?
  exec {MOCK[1]}>&-
  wait "$MOCK_PID" 2>/dev/null
  if [ "$status" -eq 0 ] && grep -qF "call session: " <<<"$out" && grep -qF "conference: members=" <<<"$out" &&
    grep -qF "service: $base_url" <<<"$out"; then
    passed=$((passed + 1))
  else
    echo "FAIL the documents' sample against the mock: status $status, output: $out" >&2
    failed=$((failed + 1))
  fi
fi

# The Spring Boot example's callback endpoint, running: one signed delivery POSTed twice is handled
# once (the repeat answered 200 {"result":"duplicate"}), one signed with another secret is refused
# 403 with the core's body. (Its classpath from the local repository, as the compile above left it.)
if [ "$examples_ok" -eq 1 ]; then
  sb_cp="$(mktemp)"
  sb_log="$(mktemp)"
  if (cd ../examples/java/spring-boot &&
    mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:2.8:build-classpath -Dmdep.outputFile="$sb_cp"); then
    YUNXIN_APP_KEY=fd460d34e786e7754e505bc4fab0f027 YUNXIN_APP_SECRET=xxxxxxxx \
      java -cp "../examples/java/spring-boot/target/classes:$(cat "$sb_cp")" example.Application \
      --server.port=0 --server.address=127.0.0.1 >"$sb_log" 2>&1 &
    sb_pid=$!
    port=""
    for _ in $(seq 1 240); do # bounded: 120 s
      port="$(sed -nE 's/.*Tomcat started on port ([0-9]+).*/\1/p' "$sb_log" | head -1)"
      [ -n "$port" ] && break
      kill -0 "$sb_pid" 2>/dev/null || break
      sleep 0.5
    done
    out=""
    if [ -n "$port" ]; then
      out="$(YUNXIN_APP_KEY=fd460d34e786e7754e505bc4fab0f027 YUNXIN_APP_SECRET=xxxxxxxx \
        java -cp target/classes:target/test-classes io.github.yunxinecp.CallbackProbe \
        "http://127.0.0.1:$port/yunxin/callback" probe-session-1 2>&1)"
    fi
    kill "$sb_pid" 2>/dev/null
    wait "$sb_pid" 2>/dev/null
    handled="$(grep -c "call ended: session=probe-session-1 " "$sb_log")"
    if grep -qxF "first 200 " <<<"$out" && grep -qxF 'again 200 {"result":"duplicate"}' <<<"$out" &&
      grep -qxF 'forged 403 {"error":"callback refused","reason":"checksum_mismatch"}' <<<"$out" && [ "$handled" -eq 1 ]; then
      passed=$((passed + 1))
    else
      echo "FAIL the Spring Boot example's callback endpoint (port ${port:-none}, handled $handled times): $out" >&2
      tail -30 "$sb_log" >&2
      failed=$((failed + 1))
    fi
  else
    echo "FAIL the Spring Boot example's classpath" >&2
    failed=$((failed + 1))
  fi
  rm -f "$sb_cp" "$sb_log"
fi

echo "java: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
