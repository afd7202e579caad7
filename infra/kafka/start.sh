#!/usr/bin/env bash
# Start a single Apache Kafka broker+controller (KRaft) natively on loopback.
#   infra/kafka/start.sh [--port 9092] [--controller-port PORT+1] [--data-dir DIR] [--timeout 90] [--sasl-ssl]
# Formats KRaft storage on first use, starts the JVM in the background, waits until the broker
# has started and accepts connections, then prints KAFKA_BROKERS=127.0.0.1:PORT on stdout.
# Starting again while the same broker runs is a no-op; concurrent starts are serialised by a lock.
#
# --sasl-ssl: the client port speaks SASL_SSL only (TLS with a certificate from a CA made by
# certs.sh with keytool; SASL mechanisms SCRAM-SHA-512 and PLAIN). Users, as name:password
# with [A-Za-z0-9._-] only, from KAFKA_SCRAM_USERS and KAFKA_PLAIN_USERS (comma-separated;
# default: one user 'sessionizer' each with a random password). SCRAM users are created when the
# storage is formatted (`kafka-storage format --add-scram`), PLAIN users live in the listener's
# JAAS config. Also prints KAFKA_SSL_CA_FILE=DIR/security/ca.pem and the users file
# (DIR/security/users.env, mode 0600: KAFKA_SCRAM_USERS=…, KAFKA_PLAIN_USERS=…).
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
  if [ -f "$KAFKA_DATA_DIR/security/users.env" ]; then
    echo "KAFKA_SSL_CA_FILE=$KAFKA_DATA_DIR/security/ca.pem"
    echo "KAFKA_USERS_FILE=$KAFKA_DATA_DIR/security/users.env"
  fi
  exit 0
fi
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  if port_open "$p"; then
    die "port 127.0.0.1:$p is already in use by another process; choose another with --port/--controller-port"
  fi
done

security_props=""
format_args=()
if [ "$KAFKA_SASL_SSL" = true ]; then
  sec="$KAFKA_DATA_DIR/security"
  bash "$KAFKA_INFRA_DIR/certs.sh" "$sec" || die "could not make TLS certificates in $sec"
  users_file="$sec/users.env"
  valid_users() { [[ "$1" =~ ^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+:[A-Za-z0-9._-]+)*$ ]]; }
  if [ ! -s "$users_file" ]; then
    random_password() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
    scram_users="${KAFKA_SCRAM_USERS:-sessionizer:$(random_password)}"
    plain_users="${KAFKA_PLAIN_USERS:-sessionizer:$(random_password)}"
    valid_users "$scram_users" || die "KAFKA_SCRAM_USERS must be name:password[,…] with [A-Za-z0-9._-]"
    valid_users "$plain_users" || die "KAFKA_PLAIN_USERS must be name:password[,…] with [A-Za-z0-9._-]"
    (umask 077 && printf 'KAFKA_SCRAM_USERS=%s\nKAFKA_PLAIN_USERS=%s\nKAFKA_BROKER_ADMIN=admin:%s\n' \
      "$scram_users" "$plain_users" "$(random_password)" >"$users_file")
  fi
  scram_users="$(sed -n 's/^KAFKA_SCRAM_USERS=//p' "$users_file")"
  plain_users="$(sed -n 's/^KAFKA_PLAIN_USERS=//p' "$users_file")"
  admin_password="$(sed -n 's/^KAFKA_BROKER_ADMIN=admin://p' "$users_file")"
  store_password="$(cat "$sec/store.password")"
  # PLAIN users in the JAAS config; the broker talks to itself as 'admin' over PLAIN
  plain_jaas="username=\"admin\" password=\"$admin_password\" user_admin=\"$admin_password\""
  IFS=, read -ra pairs <<<"$plain_users"
  for pair in "${pairs[@]}"; do plain_jaas="$plain_jaas user_${pair%%:*}=\"${pair#*:}\""; done
  IFS=, read -ra pairs <<<"$scram_users"
  for pair in "${pairs[@]}"; do format_args+=(--add-scram "SCRAM-SHA-512=[name=${pair%%:*},password=${pair#*:}]"); done
  listeners="SASL_SSL://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
  advertised="SASL_SSL://127.0.0.1:$KAFKA_PORT"
  inter=SASL_SSL
  protocol_map="CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL"
  security_props="sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required $plain_jaas;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$sec/broker.p12
ssl.keystore.password=$store_password
ssl.key.password=$store_password
ssl.truststore.type=PKCS12
ssl.truststore.location=$sec/truststore.p12
ssl.truststore.password=$store_password
ssl.client.auth=none"
else
  listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
  advertised="PLAINTEXT://127.0.0.1:$KAFKA_PORT"
  inter=PLAINTEXT
  protocol_map="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
fi

(umask 077 && cat >"$KAFKA_DATA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=$inter
listener.security.protocol.map=$protocol_map
$security_props
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
)

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
    -t "$cluster_id" -c "$KAFKA_DATA_DIR/server.properties" "${format_args[@]}" >>"$OUT_LOG" 2>&1 \
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
if [ "$KAFKA_SASL_SSL" = true ]; then
  echo "KAFKA_SSL_CA_FILE=$KAFKA_DATA_DIR/security/ca.pem"
  echo "KAFKA_USERS_FILE=$KAFKA_DATA_DIR/security/users.env"
fi
