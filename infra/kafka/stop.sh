#!/usr/bin/env bash
# Stop the broker started by start.sh for the same --port/--data-dir.
#   infra/kafka/stop.sh [--port 9092] [--data-dir DIR] [--timeout 90]
# Sends SIGTERM (a clean controlled shutdown), waits, and only then SIGKILLs.
set -euo pipefail
. "$(dirname "$0")/env.sh"
usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; }
parse_flags "$@"

if ! pid="$(running_pid)"; then
  echo "kafka: no broker running for $KAFKA_DATA_DIR" >&2
  rm -f "$PID_FILE"
  exit 0
fi
kill -TERM "$pid"
deadline=$((SECONDS + KAFKA_TIMEOUT))
while kill -0 "$pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "kafka: broker $pid did not stop in ${KAFKA_TIMEOUT}s, killing it; logs: $SERVER_LOG" >&2
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
rm -f "$PID_FILE"
echo "kafka: stopped (pid $pid)" >&2
