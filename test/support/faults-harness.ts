/**
 * Shared helpers of the fault-injection suite (test/faults): the oracle answer of whatever is in
 * a topic (classified exactly as the consumer does), lost/doubled accounting against it, a
 * seeded random source, metrics scraping, the service as a subprocess with its logs, and the
 * one machine-readable summary line every scenario prints (`FAULT-REPORT {json}`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { decodeRecord, type InputFormat, type Normalized, type NormalizeOptions, type Session, type SessionEvent } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { retry } from '@sessionizer/clickhouse';
import { Rng } from '@sessionizer/generator';
import type { Kafka } from 'kafkajs';
import { cliEnv, jsonLines, REPO_ROOT, runCli, SESSIONIZER_BIN } from './cli.js';
import { committedOffsets, endOffsets, readTopic, type ReadMessage } from './kafka.js';
import { SESSIONS_AS_ORACLE_SQL } from './sessions.js';

// ---- scale -------------------------------------------------------------------------------

/** `FAULTS_SCALE=full` runs the heavy variants; anything else (default) the CI-sized ones. */
export const FULL = process.env['FAULTS_SCALE'] === 'full';

export function scaled<T>(ci: T, full: T): T {
  return FULL ? full : ci;
}

// ---- deterministic randomness ----------------------------------------------------------------

/** The generator's seeded PRNG (the one PRNG of the repository), so kill points and fault schedules are reproducible. */
export const seededRandom = (seed: number): Rng => new Rng(seed);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the oracle over what is really in the topic ------------------------------------------------

/** What the consumer does with one record: the core's decodeRecord, which the consumer calls. */
export function classifyRecord(format: InputFormat, value: Buffer | null, options: NormalizeOptions = {}): Normalized {
  return decodeRecord(format, value, options);
}

export interface TopicOracle {
  readonly messages: number;
  readonly accepted: number;
  readonly expected: Session[];
  /** reason → count, over the rejected messages (action dlq). */
  readonly invalid: Record<string, number>;
  /** reason → count, over the excluded messages (action drop). */
  readonly excluded: Record<string, number>;
  readonly events: readonly SessionEvent[];
}

export function oracleOf(format: InputFormat, values: readonly (Buffer | null)[], options: NormalizeOptions = {}): TopicOracle {
  const events: SessionEvent[] = [];
  const invalid: Record<string, number> = {};
  const excluded: Record<string, number> = {};
  for (const v of values) {
    const r = classifyRecord(format, v, options);
    if (r.ok) events.push(r.event);
    else if (r.action === 'dlq') invalid[r.reason] = (invalid[r.reason] ?? 0) + 1;
    else excluded[r.reason] = (excluded[r.reason] ?? 0) + 1;
  }
  return { messages: values.length, accepted: events.length, expected: sessionize(events), invalid, excluded, events };
}

/** The oracle over everything the topic holds now (read back from Kafka, not from memory). */
export async function topicOracle(
  kafka: Kafka,
  topic: string,
  format: InputFormat = 'posthog-events',
  options: NormalizeOptions = {},
): Promise<TopicOracle & { readonly read: ReadMessage[] }> {
  const read = await readTopic(kafka, topic, 120_000);
  return {
    ...oracleOf(
      format,
      read.map((m) => m.value),
      options,
    ),
    read,
  };
}

// ---- lost / doubled -----------------------------------------------------------------------------

const COUNTS = ['pageview_count', 'autocapture_count', 'screen_count'] as const;

export interface Accounting {
  readonly expectedRows: number;
  readonly actualRows: number;
  /** Expected rows missing + count units below the oracle + columns null where the oracle has a value. */
  readonly lost: number;
  /** Rows present twice or not in the oracle + count units above the oracle. */
  readonly doubled: number;
  /** Rows present in both whose columns differ otherwise (neither lost nor doubled, just wrong). */
  readonly mismatchedRows: number;
  readonly detail: {
    missingRows: number;
    extraRows: number;
    duplicateRows: number;
    countsBelow: number;
    countsAbove: number;
    nulledColumns: number;
  };
}

/** The fields every scenario's FAULT-REPORT line carries about the end state. */
export function outcomeFields(oracle: TopicOracle, actual: readonly Session[], acc: Accounting): Record<string, unknown> {
  return {
    accepted: oracle.accepted,
    sessionsOut: actual.length,
    expectedSessions: oracle.expected.length,
    lost: acc.lost,
    doubled: acc.doubled,
    mismatchedRows: acc.mismatchedRows,
    detail: acc.detail,
  };
}

const keyOf = (s: Session): string => `${s.team_id}/${s.session_id}`;

export function account(actual: readonly Session[], expected: readonly Session[]): Accounting {
  const want = new Map(expected.map((s) => [keyOf(s), s]));
  const seen = new Set<string>();
  let duplicateRows = 0;
  let extraRows = 0;
  let countsBelow = 0;
  let countsAbove = 0;
  let nulledColumns = 0;
  let mismatchedRows = 0;
  for (const a of actual) {
    const k = keyOf(a);
    if (seen.has(k)) {
      duplicateRows += 1;
      continue;
    }
    seen.add(k);
    const e = want.get(k);
    if (e === undefined) {
      extraRows += 1;
      continue;
    }
    for (const c of COUNTS) {
      const d = a[c] - e[c];
      if (d < 0) countsBelow -= d;
      else countsAbove += d;
    }
    let wrong = false;
    for (const col of Object.keys(e) as (keyof Session)[]) {
      if ((COUNTS as readonly string[]).includes(col)) continue;
      if (a[col] === null && e[col] !== null) nulledColumns += 1;
      else if (JSON.stringify(a[col]) !== JSON.stringify(e[col])) wrong = true; // arrays (urls, event_names …) by value
    }
    if (wrong) mismatchedRows += 1;
  }
  const missingRows = [...want.keys()].filter((k) => !seen.has(k)).length;
  return {
    expectedRows: expected.length,
    actualRows: actual.length,
    lost: missingRows + countsBelow + nulledColumns,
    doubled: duplicateRows + extraRows + countsAbove,
    mismatchedRows,
    detail: { missingRows, extraRows, duplicateRows, countsBelow, countsAbove, nulledColumns },
  };
}

// ---- reporting ---------------------------------------------------------------------------------

/** One machine-readable line per scenario; docs/reliability.md is filled from these. */
export function faultReport(scenario: string, fields: Record<string, unknown>): void {
  const line = `FAULT-REPORT ${JSON.stringify({ scenario, scale: FULL ? 'full' : 'ci', at: new Date().toISOString(), ...fields })}`;
  console.log(line);
}

// ---- Kafka progress ----------------------------------------------------------------------------

export interface Progress {
  readonly committed: number;
  readonly end: number;
  readonly lag: number;
  readonly done: boolean;
}

/** Retries transient admin errors (a fresh broker has no coordinator yet; a restarting one none), with the shared retry. */
export async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const { value } = await retry(fn, {
    policy: { maxAttempts: Infinity, initialDelayMs: 100, maxDelayMs: 1_000 },
    classify: (err) =>
      Date.now() > deadline ? { fail: new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`) } : { retry: err },
  });
  return value;
}

export async function progress(kafka: Kafka, group: string, topic: string): Promise<Progress> {
  const [c, e] = await retrying('committed and end offsets', () =>
    Promise.all([committedOffsets(kafka, group, topic), endOffsets(kafka, topic)]),
  );
  let committed = 0;
  let end = 0;
  let done = true;
  for (const [p, high] of e) {
    const at = Math.max(0, Number(c.get(p) ?? -1));
    committed += at;
    end += Number(high);
    if (at < Number(high)) done = false;
  }
  return { committed, end, lag: end - committed, done };
}

/** Waits until the group's committed offsets equal the topic's end offsets; returns the ms it took. */
export async function untilCommitted(kafka: Kafka, group: string, topic: string, timeoutMs: number, onTick?: () => void): Promise<number> {
  const started = Date.now();
  let last: Progress | undefined;
  for (;;) {
    onTick?.();
    try {
      last = await progress(kafka, group, topic);
      if (last.done) return Date.now() - started;
    } catch {
      // the broker may be restarting: keep asking
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`group ${group} did not commit ${topic} to its end within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    }
    await sleep(250);
  }
}

// ---- the service as a subprocess ------------------------------------------------------------------

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far (JSON log lines). */
  stderr(): string;
  /** Resolves with the HTTP endpoint once the service logged its configuration. */
  readonly url: Promise<string>;
  /** Resolves when the log says the consumer has partitions assigned. */
  readonly assigned: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startServiceProcess(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [SESSIONIZER_BIN, 'run'], { cwd: REPO_ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let resolveUrl: (u: string) => void = () => undefined;
  let resolveAssigned: () => void = () => undefined;
  const url = new Promise<string>((r) => (resolveUrl = r));
  const assigned = new Promise<void>((r) => (resolveAssigned = r));
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    const m = /"msg":"sessionizer configured".*?"http":"([^"]+)"/.exec(stderr);
    if (m?.[1] !== undefined) resolveUrl(m[1]);
    if (stderr.includes('"msg":"partitions assigned"')) resolveAssigned();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, stderr: () => stderr, url, assigned, exited };
}

export interface StopResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The process was still alive `graceMs` after SIGTERM (it was then SIGKILLed). */
  readonly hung: boolean;
  /** From SIGTERM to exit (to the SIGKILL when it hung). */
  readonly ms: number;
}

/** SIGTERM, and SIGKILL after `graceMs` if the process has not exited by then. */
export async function stopGracefully(svc: ServiceProcess, graceMs: number): Promise<StopResult> {
  const t = Date.now();
  svc.child.kill('SIGTERM');
  const first = await Promise.race([svc.exited, sleep(graceMs).then(() => 'hung' as const)]);
  if (first !== 'hung') return { ...first, hung: false, ms: Date.now() - t };
  const ms = Date.now() - t;
  svc.child.kill('SIGKILL');
  const killed = await svc.exited;
  return { ...killed, hung: true, ms };
}

/** The sessions of an embedded data directory (directly, or through the running service). */
/** Every column the oracle knows: all but max_inserted_at (ClickHouse's clock at insert time), as readSessions. */
export async function sessionsInDir(dataDir: string): Promise<Session[]> {
  const r = await runCli(['query', SESSIONS_AS_ORACLE_SQL, '--data-dir', dataDir]);
  if (r.code !== 0) throw new Error(`sessionizer query failed (${r.code}): ${r.stderr}`);
  return jsonLines<Session>(r.stdout);
}

/** Error and warning lines of a service log, for the report and for failure messages. */
export function logProblems(stderr: string, max = 20): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes('"level":"error"') || l.includes('"level":"warn"'))
    .slice(-max);
}
