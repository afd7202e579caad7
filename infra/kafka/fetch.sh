#!/usr/bin/env bash
# Fetch the Apache Kafka broker and its runtime dependencies from Maven Central into
# $KAFKA_LIBS (outside git). Idempotent: a complete cache is left alone.
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ -f "$KAFKA_LIBS/.complete" ]; then
  echo "kafka: $KAFKA_VERSION already fetched in $KAFKA_LIBS"
  exit 0
fi
command -v mvn >/dev/null || die "Maven (mvn) is not installed; install Java 17 + Maven (Debian: apt-get install -y openjdk-17-jdk-headless maven)"
command -v java >/dev/null || die "Java is not installed; install Java 17 (Debian: apt-get install -y openjdk-17-jdk-headless)"

build_dir="$(mktemp -d)"
trap 'rm -rf "$build_dir"' EXIT
tmp_libs="$KAFKA_LIBS.tmp.$$"
rm -rf "$tmp_libs"
mkdir -p "$(dirname "$KAFKA_LIBS")"
echo "kafka: fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central into $KAFKA_LIBS"
mvn -B -q -f "$KAFKA_INFRA_DIR/pom.xml" \
  -Dkafka.version="$KAFKA_VERSION" -Dlibs.dir="$tmp_libs" \
  -Dbuild.dir="$build_dir" package \
  || die "Maven could not fetch kafka_2.13:$KAFKA_VERSION (is Maven Central reachable?)"
ls "$tmp_libs"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null || die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"
touch "$tmp_libs/.complete"
rm -rf "$KAFKA_LIBS"
mv "$tmp_libs" "$KAFKA_LIBS"
echo "kafka: $(ls "$KAFKA_LIBS" | wc -l) jars in $KAFKA_LIBS"
