/**
 * `sessionizer replay [FILE|-] --format F`: NDJSON (plain or gzip: `decodeInput`) through the
 * same normalise → aggregate → write path as the service. Bad lines are counted by reason (and
 * written to --rejects); only fatal errors (unreadable input, input that is not text or is
 * compressed in a format we do not read, ClickHouse failing after retries) exit non-zero.
 */
import { createReadStream, createWriteStream, statSync, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import {
  decodeRecord,
  DEFAULT_LIMITS,
  flushReason,
  REJECT_REASONS,
  type FlushPolicy,
  type InputFormat,
  type NormalizeOptions,
  type RejectReason,
} from '@sessionizer/core';
import type { SessionSink } from '@sessionizer/clickhouse';
import { decodeInput, InputError, type Compression } from '../input.js';
import { readLines } from '../lines.js';
import { Aggregator, writeCheckpoint } from '../service/aggregator.js';
import { ClickHouseSessionSink, migrate } from '@sessionizer/clickhouse';
import { INPUT_FORMATS } from '@sessionizer/core';
import { componentLog, createLogger } from '../log.js';
import { Progress } from '../progress.js';
import { normalizeOptionsOf, openClickHouse, schemaOf, serverSessionStageOf } from '../wiring.js';
import { CLICKHOUSE, FLUSH, MODEL, UsageError, type Command } from './command.js';
import type { ServerSessionStage } from '../service/server-sessions.js';

export interface ReplayOptions {
  readonly input: string; // a path or '-'
  readonly stdin: Readable;
  readonly format: InputFormat;
  readonly normalize: NormalizeOptions;
  /** Server-side sessions (SERVER_SESSIONS): given when normalize.serverSessions is; the file is one partition. */
  readonly serverSessions?: ServerSessionStage | undefined;
  readonly sink: SessionSink;
  readonly policy: FlushPolicy;
  readonly rejectsPath: string | undefined;
  readonly progress: Progress;
}

export interface ReplaySummary {
  input: string;
  format: InputFormat;
  /** How the input was compressed (null: plain text). */
  compression: Compression | null;
  lines: number;
  blank: number;
  accepted: number;
  rejected: Record<RejectReason, number>;
  warnings: Record<string, number>;
  flushes: number;
  sessionsWritten: number;
  inserts: number;
  bytesWritten: number;
  seconds: number;
  eventsPerSecond: number;
}

export async function replay(o: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const maxBytes = o.normalize.limits?.maxMessageBytes ?? DEFAULT_LIMITS.maxMessageBytes;
  let totalBytes: number | undefined;
  if (o.input !== '-') {
    try {
      const stat = statSync(o.input);
      if (!stat.isFile()) throw new Error('not a regular file');
      totalBytes = stat.size;
    } catch (err) {
      throw new Error(`cannot read ${o.input}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const source: Readable = o.input === '-' ? o.stdin : createReadStream(o.input, { highWaterMark: 1 << 20 });
  let input;
  try {
    input = await decodeInput(source, o.input === '-' ? 'stdin' : o.input);
  } catch (err) {
    if (o.input !== '-') source.destroy();
    throw err;
  }
  let rejects: WriteStream | undefined;
  if (o.rejectsPath !== undefined) {
    rejects = createWriteStream(o.rejectsPath);
    await once(rejects, 'open');
  }
  const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  const warnings: Record<string, number> = {};
  const summary: ReplaySummary = {
    input: o.input,
    format: o.format,
    compression: input.compression ?? null,
    lines: 0,
    blank: 0,
    accepted: 0,
    rejected,
    warnings,
    flushes: 0,
    sessionsWritten: 0,
    inserts: 0,
    bytesWritten: 0,
    seconds: 0,
    eventsPerSecond: 0,
  };
  // The service's aggregate step; a file has no offsets to commit and no dead-letter topic.
  const aggregator = new Aggregator();
  let lastFlush = performance.now();
  let bytesRead = 0;

  const flush = async (): Promise<void> => {
    const checkpoint = aggregator.checkpoint([]);
    lastFlush = performance.now();
    if (checkpoint.states.length === 0) return;
    const { stats } = await writeCheckpoint(checkpoint, {
      states: (states) => o.sink.write(states),
      deadLetters: () => Promise.resolve(),
    });
    if (stats === undefined) return;
    summary.flushes += 1;
    summary.sessionsWritten += stats.rows;
    summary.inserts += stats.inserts;
    summary.bytesWritten += stats.bytes;
  };
  const writeReject = async (record: object): Promise<void> => {
    if (rejects !== undefined && !rejects.write(`${JSON.stringify(record)}\n`)) await once(rejects, 'drain');
  };
  const snapshot = () => ({
    events: summary.lines - summary.blank,
    accepted: summary.accepted,
    rejected,
    bytesRead,
    totalBytes,
    sessionsWritten: summary.sessionsWritten,
  });

  try {
    for await (const line of readLines(input.chunks, maxBytes)) {
      summary.lines += 1;
      // Progress is against the file's size: compressed bytes for an archive.
      bytesRead = input.compression === undefined ? bytesRead + line.bytes + 1 : input.sourceBytes();
      if (!line.oversized && line.text.trim() === '') {
        summary.blank += 1;
      } else {
        // readLines measured the line and skipped it when oversized: decodeRecord says so by its size.
        const text = line.text ?? '';
        const result = decodeRecord(o.format, { length: line.bytes, toString: () => text }, o.normalize, 'line');
        if (result.ok) {
          summary.accepted += 1;
          aggregator.add(o.serverSessions?.apply(o.input, 0, result.event) ?? result.event);
          for (const w of result.warnings) warnings[w] = (warnings[w] ?? 0) + 1;
        } else {
          rejected[result.reason] += 1;
          await writeReject({ line: line.number, reason: result.reason, message: result.message, raw: line.text });
        }
      }
      const buffered = { size: aggregator.sessions, bytes: aggregator.stateBytes };
      if (flushReason(o.policy, buffered, performance.now() - lastFlush) !== null) await flush();
      o.progress.update(snapshot());
    }
    await flush();
    o.progress.update(snapshot(), true);
  } catch (err) {
    if (err instanceof InputError) {
      // A gzip stream that breaks off after a while: say where, and that starting over is safe.
      throw new InputError(
        `${err.message}; after line ${summary.lines}: the sessions flushed before it are written, and replaying the whole input again is safe (duplicates never double count)`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    if (o.input !== '-') source.destroy();
    o.progress.done();
    if (rejects !== undefined) {
      rejects.end();
      await once(rejects, 'close');
    }
  }
  summary.seconds = (performance.now() - started) / 1000;
  summary.eventsPerSecond = Math.round((summary.lines - summary.blank) / Math.max(summary.seconds, 0.001));
  return summary;
}

export function formatSummary(s: ReplaySummary): string {
  const rejected = Object.entries(s.rejected).filter(([, n]) => n > 0);
  const total = rejected.reduce((a, [, n]) => a + n, 0);
  const lines = [
    `replayed ${s.input === '-' ? 'stdin' : s.input} (${s.compression === null ? '' : `${s.compression}, `}${s.format}): ${s.lines - s.blank} events in ${s.seconds.toFixed(2)} s (${s.eventsPerSecond}/s)`,
    `  accepted: ${s.accepted}`,
    `  rejected: ${total}${rejected.length === 0 ? '' : ` (${rejected.map(([r, n]) => `${r}: ${n}`).join(', ')})`}`,
    `  written:  ${s.sessionsWritten} session partials in ${s.inserts} inserts over ${s.flushes} flushes`,
  ];
  const warnings = Object.entries(s.warnings);
  if (warnings.length > 0) lines.push(`  warnings: ${warnings.map(([w, n]) => `${w}: ${n}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export const replayCommand: Command = {
  summary: 'read NDJSON events from a file or stdin through the pipeline into ClickHouse',
  usage: 'sessionizer replay [FILE|-] --format posthog-events|posthog-capture [options]',
  settings: [...CLICKHOUSE, ...MODEL, ...FLUSH],
  options: {
    format: { type: 'string', short: 'f' },
    rejects: { type: 'string' },
    json: { type: 'boolean' },
    progress: { type: 'boolean' },
    'no-progress': { type: 'boolean' },
  },
  optionsHelp: [
    `  --format, -f FORMAT      input format: ${INPUT_FORMATS.join(' or ')} (default posthog-events)`,
    '  --rejects FILE           write rejected lines as NDJSON {line, reason, message, raw}',
    '  --json                   print the summary as JSON on stdout',
    '  --progress / --no-progress  force the progress bar on stderr on/off (default: on when stderr is a TTY)',
  ].join('\n'),
  async run({ config, values, positionals, io }) {
    const format = (values['format'] ?? 'posthog-events') as string;
    if (!(INPUT_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`--format '${format}' is not one of ${INPUT_FORMATS.join(', ')}`);
    }
    if (positionals.length > 1) throw new UsageError(`replay takes one input, got ${positionals.length}`);
    const input = positionals[0] ?? '-';
    const ch = openClickHouse(config);
    try {
      const schema = schemaOf(config);
      await migrate(ch.client, schema);
      const log = componentLog(
        createLogger(config.log.level, (l) => io.stderr.write(l)),
        'sink',
      );
      const sink = new ClickHouseSessionSink(ch.client, {
        schema,
        onRetry: (error, attempt, delayMs) => {
          log.warn('ClickHouse write failed, retrying', { error, attempt, delayMs });
        },
      });
      const showProgress = values['no-progress'] === true ? false : values['progress'] === true || io.stderrIsTty;
      const summary = await replay({
        input,
        stdin: io.stdin,
        format: format as InputFormat,
        normalize: normalizeOptionsOf(config),
        serverSessions: serverSessionStageOf(config),
        sink,
        policy: config.flush,
        rejectsPath: values['rejects'] as string | undefined,
        progress: new Progress(showProgress, (s) => io.stderr.write(s)),
      });
      io.stdout.write(values['json'] === true ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
      return 0;
    } finally {
      await ch.close();
    }
  },
};
