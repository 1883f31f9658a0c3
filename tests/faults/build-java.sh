#!/usr/bin/env bash
# Builds the fault table's Java program (tests/faults/Faults.java) as
# "$target/faults-java/faults.jar": the library's classes with its bundled native library (the jar
# Maven packs from java/), the Faults class, and Main-Class set, so `java -jar` runs it as users run
# the library. Also builds the mock it starts (scripts/fault-table.py names it with
# -Dyunxinecp.mock). Called by scripts/fault-table.sh. Without java, javac, jar or mvn it says so and
# exits 0: the table then has no Java column.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$target/faults-java"
rm -rf "$out"
for tool in java javac jar mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fault table: no $tool, leaving Java out"
    exit 0
  fi
done
cargo build --release -q -p yunxin-ecp-jni -p yunxin-ecp-mock
(cd java && mvn -q -B -Dstyle.color=never package -DskipTests -Dnative.dir="$target/release")
library="$(ls java/target/yunxin-ecp-*.jar | grep -v -e sources -e javadoc | head -n 1)"
mkdir -p "$out/classes"
(cd "$out/classes" && jar xf "$root/$library")
rm -rf "$out/classes/META-INF"
javac -encoding UTF-8 -Xlint:all -Werror -d "$out/classes" -cp "$library" tests/faults/Faults.java
jar cfe "$out/faults.jar" Faults -C "$out/classes" .
rm -rf "$out/classes"
