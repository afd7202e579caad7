#!/usr/bin/env bash
# Start a single Apache Kafka broker+controller (KRaft) natively on loopback.
#   infra/kafka/start.sh [--port 9092] [--controller-port PORT+1] [--data-dir DIR] [--timeout 90]
# Formats KRaft storage on first use, starts the JVM in the background, waits until the broker
# has started and accepts connections, then prints KAFKA_BROKERS=127.0.0.1:PORT on stdout.
# Starting again while the same broker runs is a no-op; concurrent starts are serialised by a lock.
set -euo pipefail
. "$(dirname "$0")/env.sh"
usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; }
parse_flags "$@"

[ -f "$KAFKA_LIBS/.complete" ] || bash "$KAFKA_INFRA_DIR/fetch.sh" >&2
command -v java >/dev/null || die "Java is not installed; install Java 17 (Debian: apt-get install -y openjdk-17-jdk-headless)"
mkdir -p "$KAFKA_DATA_DIR"

exec 9>"$KAFKA_DATA_DIR/.start.lock"
flock -w "$KAFKA_TIMEOUT" 9 || die "another start holds $KAFKA_DATA_DIR/.start.lock"

if pid="$(running_pid)"; then
  echo "kafka: already running (pid $pid) on 127.0.0.1:$KAFKA_PORT, data in $KAFKA_DATA_DIR" >&2
  echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  exit 0
fi
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  if port_open "$p"; then
    die "port 127.0.0.1:$p is already in use by another process; choose another with --port/--controller-port"
  fi
done

cat >"$KAFKA_DATA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA_DIR/logs
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS

cat >"$KAFKA_DATA_DIR/log4j2.properties" <<PROPS
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $SERVER_LOG
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
PROPS

CP="$KAFKA_LIBS/*"
JAVA_OPTS=(-Xms256m -Xmx${KAFKA_HEAP:-768m} -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$KAFKA_DATA_DIR/log4j2.properties"
  "-Dkafka.logs.dir=$KAFKA_DATA_DIR")

if [ ! -f "$KAFKA_DATA_DIR/logs/meta.properties" ]; then
  cluster_id="$(java -cp "$CP" "${JAVA_OPTS[@]}" kafka.tools.StorageTool random-uuid 2>>"$OUT_LOG" | tail -n 1)"
  [ -n "$cluster_id" ] || die "could not generate a cluster id; see $OUT_LOG"
  java -cp "$CP" "${JAVA_OPTS[@]}" kafka.tools.StorageTool format --ignore-formatted \
    -t "$cluster_id" -c "$KAFKA_DATA_DIR/server.properties" >>"$OUT_LOG" 2>&1 \
    || die "formatting KRaft storage failed; see $OUT_LOG"
fi

: >"$SERVER_LOG"
# setsid: the broker outlives this script and is not hit by the caller's Ctrl-C.
setsid java -cp "$CP" "${JAVA_OPTS[@]}" "-Dsessionizer.kafka.dataDir=$KAFKA_DATA_DIR" \
  kafka.Kafka "$KAFKA_DATA_DIR/server.properties" >>"$OUT_LOG" 2>&1 </dev/null 9>&- &
pid=$!
echo "$pid" >"$PID_FILE"

deadline=$((SECONDS + KAFKA_TIMEOUT))
while :; do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$PID_FILE"
    tail -n 20 "$SERVER_LOG" "$OUT_LOG" >&2 || true
    die "broker exited during start-up; logs: $SERVER_LOG and $OUT_LOG"
  fi
  if grep -q "Kafka Server started" "$SERVER_LOG" 2>/dev/null && port_open "$KAFKA_PORT"; then
    break
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    kill "$pid" 2>/dev/null || true
    die "broker not ready after ${KAFKA_TIMEOUT}s; logs: $SERVER_LOG and $OUT_LOG"
  fi
  sleep 0.2
done
echo "kafka: started (pid $pid) on 127.0.0.1:$KAFKA_PORT in $((KAFKA_TIMEOUT - deadline + SECONDS))s; logs: $SERVER_LOG" >&2
echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
