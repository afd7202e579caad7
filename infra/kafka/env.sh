# shellcheck shell=bash
# Shared settings for the native Kafka scripts. Sourced, not executed.
# Everything large (jars, data) lives outside git, under a cache directory.
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
SESSIONIZER_CACHE="${SESSIONIZER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sessionizer}"
KAFKA_LIBS="${KAFKA_LIBS:-$SESSIONIZER_CACHE/kafka-$KAFKA_VERSION/libs}"
KAFKA_INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { echo "kafka: $*" >&2; exit 1; }

# Parse the common flags of start/stop/status: --port, --controller-port, --data-dir, --timeout,
# --sasl-ssl (start only).
parse_flags() {
  KAFKA_PORT="${KAFKA_PORT:-9092}"
  KAFKA_TIMEOUT="${KAFKA_TIMEOUT:-90}"
  KAFKA_SASL_SSL="${KAFKA_SASL_SSL:-false}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) KAFKA_PORT="$2"; shift 2 ;;
      --controller-port) KAFKA_CONTROLLER_PORT="$2"; shift 2 ;;
      --data-dir) KAFKA_DATA_DIR="$2"; shift 2 ;;
      --timeout) KAFKA_TIMEOUT="$2"; shift 2 ;;
      --sasl-ssl) KAFKA_SASL_SSL=true; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $1" ;;
    esac
  done
  case "$KAFKA_PORT" in ''|*[!0-9]*) die "--port must be a number, got '$KAFKA_PORT'" ;; esac
  KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
  case "$KAFKA_CONTROLLER_PORT" in ''|*[!0-9]*) die "--controller-port must be a number" ;; esac
  KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$SESSIONIZER_CACHE/kafka-data-$KAFKA_PORT}"
  PID_FILE="$KAFKA_DATA_DIR/broker.pid"
  SERVER_LOG="$KAFKA_DATA_DIR/server.log"
  OUT_LOG="$KAFKA_DATA_DIR/broker.out"
}

# The pid of the broker that owns this data dir, if it is alive.
running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must be a JVM running our broker on this data dir.
  # Read whole, not piped into `grep -q`: under pipefail the early close can fail `tr`.
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  case "$cmdline" in *"$KAFKA_DATA_DIR"*) ;; *) return 1 ;; esac
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
