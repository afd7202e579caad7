#!/usr/bin/env bash
# Report whether the broker for --port/--data-dir runs. Exit 0 if it does, 3 if not.
#   infra/kafka/status.sh [--port 9092] [--data-dir DIR]
set -euo pipefail
. "$(dirname "$0")/env.sh"
usage() { sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; }
parse_flags "$@"
if pid="$(running_pid)"; then
  echo "kafka: running (pid $pid) on 127.0.0.1:$KAFKA_PORT, data in $KAFKA_DATA_DIR"
  exit 0
fi
echo "kafka: not running for $KAFKA_DATA_DIR"
exit 3
