#!/usr/bin/env bash
# Build the Kafka Streams peer of `npm run bench` into a cache directory outside git, once per
# version of its sources, and print the directory of its jars (the app and its runtime
# dependencies) as the last line of stdout. Maven keeps what it downloads in ~/.m2: the first
# build fetches kafka-streams, rocksdbjni and Jackson from Maven Central (~130 MB, ~40 s here);
# every later build runs offline (`mvn -o`) and an unchanged source tree is not rebuilt at all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SESSIONIZER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sessionizer}"
die() { echo "peer: $*" >&2; exit 1; }

command -v mvn >/dev/null || die "Maven (mvn) is not installed; install Java 17 + Maven (Debian: apt-get install -y openjdk-17-jdk-headless maven)"
command -v java >/dev/null || die "Java is not installed; install Java 17 (Debian: apt-get install -y openjdk-17-jdk-headless)"

# The build's identity: the pom and every source file, by content.
hash="$(cd "$here" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
out="$cache/peer-kafka-streams-$hash"
if [ -f "$out/.complete" ]; then
  echo "peer: Kafka Streams peer already built in $out" >&2
  echo "$out/libs"
  exit 0
fi

mkdir -p "$cache"
tmp="$out.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "peer: building the Kafka Streams peer into $out" >&2
if ! mvn -B -q -o -f "$here/pom.xml" -Dbuild.dir="$tmp" package >"$tmp.offline.log" 2>&1; then
  echo "peer: not everything is in ~/.m2 yet: fetching from Maven Central" >&2
  mvn -B -q -f "$here/pom.xml" -Dbuild.dir="$tmp" package >&2 \
    || die "Maven could not build the peer (is Maven Central reachable? offline attempt: $(tail -3 "$tmp.offline.log" 2>/dev/null))"
fi
rm -f "$tmp.offline.log"
ls "$tmp"/libs/peer-kafka-streams-*.jar >/dev/null || die "the peer's jar is missing after the build"
mkdir -p "$out"
rm -rf "$out/libs"
mv "$tmp/libs" "$out/libs"
touch "$out/.complete"
echo "peer: $(ls "$out/libs" | wc -l) jars in $out/libs" >&2
echo "$out/libs"
