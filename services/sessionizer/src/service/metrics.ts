/**
 * Telemetry is a contract: received / aggregated / excluded{reason} / dead-lettered / flushed,
 * counted per batch, named <ns>_<name>_<unit>_total. One registry per service instance (tests
 * run several in one process).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly received: Counter<'topic'>;
  readonly aggregated: Counter;
  readonly excluded: Counter<'reason'>;
  readonly invalid: Counter<'reason'>;
  readonly deadLettered: Counter<'reason'>;
  readonly warnings: Counter<'warning'>;
  readonly flushes: Counter<'reason' | 'outcome'>;
  readonly flushDuration: Histogram;
  readonly rowsWritten: Counter;
  readonly bytesWritten: Counter;
  readonly writeRetries: Counter<'code'>;
  readonly deadLetterRetries: Counter;
  readonly bufferedSessions: Gauge;
  readonly bufferedBytes: Gauge;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly commits: Counter<'outcome'>;
  readonly commitDuration: Histogram;
  readonly lastCommit: Gauge;
  readonly uncommittedPartitions: Gauge;
  readonly paused: Gauge;
  readonly ready: Gauge;
  readonly serverSessionEvents: Counter<'rule'>;
  readonly serverSessionMisrouted: Counter<'reason'>;

  constructor(defaults = true) {
    const r = this.registry;
    if (defaults) collectDefaultMetrics({ register: r, prefix: 'sessionizer_' });
    this.received = new Counter({
      name: 'sessionizer_received_events_total',
      help: 'Messages read from Kafka',
      labelNames: ['topic'],
      registers: [r],
    });
    this.aggregated = new Counter({
      name: 'sessionizer_aggregated_events_total',
      help: 'Events folded into session state',
      registers: [r],
    });
    this.excluded = new Counter({
      name: 'sessionizer_excluded_events_total',
      help: 'Well-formed events excluded by a session rule',
      labelNames: ['reason'],
      registers: [r],
    });
    this.invalid = new Counter({
      name: 'sessionizer_invalid_events_total',
      help: 'Invalid messages (dead-lettered when a DLQ topic is set)',
      labelNames: ['reason'],
      registers: [r],
    });
    this.deadLettered = new Counter({
      name: 'sessionizer_dead_lettered_events_total',
      help: 'Messages written to the dead-letter topic',
      labelNames: ['reason'],
      registers: [r],
    });
    this.warnings = new Counter({
      name: 'sessionizer_normalize_warnings_total',
      help: 'Events accepted with a warning',
      labelNames: ['warning'],
      registers: [r],
    });
    this.flushes = new Counter({
      name: 'sessionizer_flushes_total',
      help: 'Flushes by trigger and outcome',
      labelNames: ['reason', 'outcome'],
      registers: [r],
    });
    this.flushDuration = new Histogram({
      name: 'sessionizer_flush_duration_seconds',
      help: 'Time from drain to committed offsets',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [r],
    });
    this.rowsWritten = new Counter({
      name: 'sessionizer_written_rows_total',
      help: 'Session partial rows written to ClickHouse',
      registers: [r],
    });
    this.bytesWritten = new Counter({
      name: 'sessionizer_written_bytes_total',
      help: 'Bytes of JSONEachRow written to ClickHouse',
      registers: [r],
    });
    this.writeRetries = new Counter({
      name: 'sessionizer_clickhouse_write_retries_total',
      help: 'Failed ClickHouse writes that were retried',
      labelNames: ['code'],
      registers: [r],
    });
    this.deadLetterRetries = new Counter({
      name: 'sessionizer_dead_letter_write_retries_total',
      help: 'Failed writes to the dead-letter topic that were retried',
      registers: [r],
    });
    this.bufferedSessions = new Gauge({
      name: 'sessionizer_buffered_sessions',
      help: 'Sessions in memory (buffer plus flush in flight)',
      registers: [r],
    });
    this.bufferedBytes = new Gauge({
      name: 'sessionizer_buffered_bytes',
      help: 'Estimated bytes of session state in memory',
      registers: [r],
    });
    this.consumerLag = new Gauge({
      name: 'sessionizer_consumer_lag_messages',
      help: 'Messages behind the high watermark, per partition',
      labelNames: ['topic', 'partition'],
      registers: [r],
    });
    this.commits = new Counter({
      name: 'sessionizer_offset_commits_total',
      help: 'Offset commits by outcome',
      labelNames: ['outcome'],
      registers: [r],
    });
    this.commitDuration = new Histogram({
      name: 'sessionizer_commit_duration_seconds',
      help: 'Offset commit latency',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [r],
    });
    this.lastCommit = new Gauge({
      name: 'sessionizer_last_commit_timestamp_seconds',
      help: 'Unix time of the last successful offset commit',
      registers: [r],
    });
    // With lastCommit, what an alert needs to tell "nothing to commit" (idle) from "commits are
    // not happening" (ClickHouse or the dead-letter topic down, commits failing, a stuck flush).
    this.uncommittedPartitions = new Gauge({
      name: 'sessionizer_uncommitted_partitions',
      help: 'Assigned partitions with processed messages whose offsets are not committed yet',
      registers: [r],
    });
    this.paused = new Gauge({ name: 'sessionizer_fetch_paused', help: '1 while fetching is paused for backpressure', registers: [r] });
    this.ready = new Gauge({ name: 'sessionizer_ready', help: '1 when /readyz answers 200', registers: [r] });
    this.serverSessionEvents = new Counter({
      name: 'sessionizer_server_session_events_total',
      help: 'Events given a server-side session, by the rule that decided (new, join, late: docs/sessions.md)',
      labelNames: ['rule'],
      registers: [r],
    });
    this.serverSessionMisrouted = new Counter({
      name: 'sessionizer_server_session_misrouted_events_total',
      help: 'Events without $session_id whose message key does not keep their distinct_id on one partition (no_key, other_key)',
      labelNames: ['reason'],
      registers: [r],
    });
  }
}
