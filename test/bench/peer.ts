/**
 * The Kafka Streams peer (`test/bench/peers/kafka-streams/`) for the benchmarks: build it (once,
 * cached), run it as a JVM process on a topic, and check its sessions against the oracle.
 *
 * The peer computes the aggregates; like the `sessions` view in ClickHouse, the check derives the
 * query-time columns (channel_type, is_bounce) from them with the core's own functions, then
 * compares every column the oracle has with the peer's last row of each session.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Kafka } from 'kafkajs';
import {
  channelType,
  DEFAULT_BOUNCE_THRESHOLD_SECONDS,
  hasClickId,
  isBounce,
  normalize,
  SECOND_LEVEL_SUFFIXES,
  type SessionEvent,
} from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import type { GeneratedMessage } from '@sessionizer/generator';
import { ROOT } from './service.js';

export const PEER_DIR = join(ROOT, 'test/bench/peers/kafka-streams');
/** Kafka Streams names the repartition topic of groupByKey(Grouped.as("sessions")) so. */
export const repartitionTopic = (applicationId: string): string => `${applicationId}-sessions-repartition`;

/** Runs build.sh (Maven, cached outside git); resolves to the directory of the peer's jars. */
export function buildPeer(log: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(PEER_DIR, 'build.sh')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const l of d.toString().split('\n').filter(Boolean)) log(l);
    });
    child.on('close', (code) => {
      const libs = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && libs !== '') resolve(libs);
      else reject(new Error(`building the Kafka Streams peer failed (exit ${code}): ${stderr.slice(-2000)}`));
    });
  });
}

/** The core's registrable-domain suffixes, one per line, for the peer's channel inputs. */
export function writeSuffixes(path: string): string {
  writeFileSync(path, `${SECOND_LEVEL_SUFFIXES.join('\n')}\n`);
  return path;
}

export interface PeerCounts {
  readonly read: number;
  readonly accepted: number;
  readonly rejected: Readonly<Record<string, number>>;
}

export interface PeerProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly pid: number;
  /** Resolves when the peer has read its first record. */
  readonly first: Promise<void>;
  /** Records read so far (its last PROGRESS line). */
  read(): number;
  /** SIGTERM, a clean close; resolves with the exit code and the peer's counts by reason. */
  stop(): Promise<{ code: number | null; counts: PeerCounts | null }>;
  readonly stderr: string[];
}

export interface PeerOptions {
  readonly libs: string;
  readonly brokers: string;
  readonly topic: string;
  readonly outputTopic: string;
  readonly applicationId: string;
  readonly stateDir: string;
  readonly suffixesFile: string;
  readonly sessionIdToleranceMs: number;
  readonly threads: number;
  /** Kafka Streams' commit.interval.ms; the measured runs keep the 5 s default of the job. */
  readonly commitIntervalMs?: number;
}

export function startPeer(o: PeerOptions): PeerProcess {
  // `java` itself is the process (no wrapper script): /proc/<pid> is the JVM, all its threads.
  const child = spawn(
    'java',
    [
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      `${o.libs}/*`,
      'dev.sessionizer.peer.Main',
      '--brokers',
      o.brokers,
      '--topic',
      o.topic,
      '--output-topic',
      o.outputTopic,
      '--application-id',
      o.applicationId,
      '--state-dir',
      o.stateDir,
      '--suffixes',
      o.suffixesFile,
      '--session-id-tolerance-ms',
      String(o.sessionIdToleranceMs),
      '--threads',
      String(o.threads),
      '--commit-interval-ms',
      String(o.commitIntervalMs ?? 5_000),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let read = 0;
  let counts: PeerCounts | null = null;
  let onFirst: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (onFirst = resolve));
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (l === 'FIRST') onFirst();
      else if (l.startsWith('PROGRESS ')) read = Number(l.slice('PROGRESS '.length));
      else if (l.startsWith('PEER ')) counts = JSON.parse(l.slice('PEER '.length)) as PeerCounts;
    }
  });
  const stderr: string[] = [];
  child.stderr.on('data', (d: Buffer) => {
    stderr.push(...d.toString().split('\n').filter(Boolean));
    if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    pid: child.pid ?? 0,
    first,
    read: () => read,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await closed;
      return { code, counts };
    },
    stderr,
  };
}

/** The last row of each session in the peer's output topic (updates of one key stay in order on one partition). */
export async function readLatestRows(kafka: Kafka, topic: string, timeoutMs = 300_000): Promise<Map<string, Record<string, unknown>>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  for (const [p, end] of remaining) if (end === 0n) remaining.delete(p);
  const latest = new Map<string, Buffer>();
  if (remaining.size > 0) {
    const consumer = kafka.consumer({ groupId: `bench-peer-reader-${topic}-${Date.now()}`, maxBytesPerPartition: 4 << 20 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`reading ${topic} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        consumer
          .run({
            eachBatch: ({ batch }) => {
              for (const m of batch.messages) if (m.key !== null && m.value !== null) latest.set(m.key.toString(), m.value);
              const end = remaining.get(batch.partition);
              if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(batch.partition);
              if (remaining.size === 0) {
                clearTimeout(timer);
                resolve();
              }
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
  }
  const rows = new Map<string, Record<string, unknown>>();
  for (const [k, v] of latest) rows.set(k, JSON.parse(v.toString('utf8')) as Record<string, unknown>);
  return rows;
}

/** What the normalisation and the oracle give for the messages of a topic. */
export function expectedOf(
  messages: Iterable<GeneratedMessage>,
  sessionIdToleranceMs: number,
): { sessions: ReturnType<typeof sessionize>; rejected: Record<string, number>; read: number } {
  const events: SessionEvent[] = [];
  const rejected: Record<string, number> = {};
  let read = 0;
  for (const m of messages) {
    read += 1;
    const r = normalize('posthog-events', m.value, { sessionIdToleranceMs });
    if (r.ok) events.push(r.event);
    else rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
  }
  return { sessions: sessionize(events), rejected, read };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** The query-time columns, derived from the peer's aggregates with the core's functions. */
export function derive(row: Record<string, unknown>): Record<string, unknown> {
  const ci = (row['channel_input'] ?? {}) as Record<string, unknown>;
  const duration = num(row['session_duration']);
  return {
    ...row,
    channel_type: channelType({
      utmSource: str(ci['utm_source']),
      utmMedium: str(ci['utm_medium']),
      utmCampaign: str(ci['utm_campaign']),
      referringDomain: str(ci['referring_domain']),
      hasGclid: hasClickId(str(ci['gclid'])),
      hasFbclid: hasClickId(str(ci['fbclid'])),
      gadSource: str(ci['gad_source']),
    }),
    is_bounce: isBounce(
      num(row['pageview_count']) + num(row['screen_count']),
      num(row['autocapture_count']),
      duration,
      DEFAULT_BOUNCE_THRESHOLD_SECONDS,
    ),
    // the peer has no server-side sessions (the benchmark runs with SERVER_SESSIONS off)
    session_id_source: 'client',
  };
}

/** Arrays are sets here (the peer keeps insertion order): compared sorted. */
function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const sorted = (xs: unknown[]): string => JSON.stringify(xs.map((x) => JSON.stringify(x)).sort());
    return sorted(a) === sorted(b);
  }
  return a === b;
}

/** Written at flush time by each pipeline: not a property of the events. */
const NOT_COMPARED = new Set(['max_inserted_at']);

export interface PeerCheck {
  readonly sessions: number;
  readonly peerSessions: number;
  readonly missing: number;
  readonly extra: number;
  readonly mismatchedSessions: number;
  /** missing + extra + mismatched sessions + reasons whose reject counts differ: 0 when the peer equals the oracle. */
  readonly mismatches: number;
  readonly columnsCompared: readonly string[];
  readonly mismatchesByColumn: Readonly<Record<string, number>>;
  /** Columns the peer writes that the oracle does not have yet (not compared). */
  readonly peerOnlyColumns: readonly string[];
  readonly rejected: { readonly expected: Record<string, number>; readonly peer: Record<string, number> | null; readonly equal: boolean };
  readonly examples: readonly unknown[];
}

export function comparePeer(
  expected: ReturnType<typeof expectedOf>,
  rows: ReadonlyMap<string, Record<string, unknown>>,
  counts: PeerCounts | null,
): PeerCheck {
  const first = expected.sessions[0];
  const columns = first === undefined ? [] : Object.keys(first).filter((c) => !NOT_COMPARED.has(c));
  const byColumn: Record<string, number> = {};
  const examples: unknown[] = [];
  let missing = 0;
  let mismatched = 0;
  const seen = new Set<string>();
  for (const s of expected.sessions) {
    const key = `${s.team_id}:${s.session_id}`;
    seen.add(key);
    const raw = rows.get(key);
    if (raw === undefined) {
      missing += 1;
      if (examples.length < 5) examples.push({ key, missing: true });
      continue;
    }
    const row = derive(raw);
    const diff: Record<string, { oracle: unknown; peer: unknown }> = {};
    for (const c of columns) {
      const want = (s as unknown as Record<string, unknown>)[c];
      if (!same(want, row[c])) {
        byColumn[c] = (byColumn[c] ?? 0) + 1;
        diff[c] = { oracle: want, peer: row[c] };
      }
    }
    if (Object.keys(diff).length > 0) {
      mismatched += 1;
      if (examples.length < 5) examples.push({ key, diff });
    }
  }
  const extra = [...rows.keys()].filter((k) => !seen.has(k)).length;
  const anyRow = rows.values().next().value;
  const peerOnly = anyRow === undefined ? [] : Object.keys(anyRow).filter((c) => !columns.includes(c) && !NOT_COMPARED.has(c));
  const peerRejected = counts === null ? null : { ...counts.rejected };
  const reasons = new Set([...Object.keys(expected.rejected), ...Object.keys(peerRejected ?? {})]);
  const rejectDiffs = peerRejected === null ? 1 : [...reasons].filter((r) => (expected.rejected[r] ?? 0) !== (peerRejected[r] ?? 0)).length;
  return {
    sessions: expected.sessions.length,
    peerSessions: rows.size,
    missing,
    extra,
    mismatchedSessions: mismatched,
    mismatches: missing + extra + mismatched + rejectDiffs,
    columnsCompared: columns,
    mismatchesByColumn: byColumn,
    peerOnlyColumns: peerOnly,
    rejected: { expected: expected.rejected, peer: peerRejected, equal: rejectDiffs === 0 },
    examples,
  };
}
