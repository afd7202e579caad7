/**
 * Hostile input interleaved with good traffic. The service (in-process, so its metrics and its
 * ClickHouse rows are at hand) never fails nor stalls a partition (lag reaches 0); every bad
 * message is accounted for per reason exactly as normalize() classifies it (dead-lettered with
 * its reason, or excluded and counted); the good sessions are exact; SQL-looking strings come
 * back byte-identical; dead-letter headers are sanitized single-line values and the dead letters
 * carry the original key and bytes.
 *
 * Two parts: a corpus of moderate sizes with the default MAX_MESSAGE_BYTES, and messages as
 * large as the broker accepts, with the default limit and with MAX_MESSAGE_BYTES below it.
 */
import kafkajs, { type Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { type NormalizeOptions, decodeRecord } from '@sessionizer/core';
import { Rng } from '@sessionizer/generator';
import { createLogger } from '../../services/sessionizer/src/log.js';
import type { Service } from '../../services/sessionizer/src/service/start.js';
import { testDatabase, type TestDatabase } from '../support/clickhouse.js';
import { inProcessConfig, startInProcess } from '../support/in-process.js';
import { bigInvalidCorpus, eventMessage, hostileCorpus, largeCorpus, SQL_STRINGS, type CorpusMessage } from '../support/faults-corpus.js';
import { account, oracleOf } from '../support/oracle.js';
import { faultReport, scaled } from '../support/scale.js';
import { retrying, sleep } from '../support/wait.js';
import { metricBy, metricSum } from '../support/prometheus.js';
import { generated, type Outgoing } from '../support/faults-producer.js';
import { createTopic, endOffsets, readTopic, testKafka, type ReadMessage, untilCommitted } from '../support/kafka.js';
import { uniqueName } from '../support/names.js';
import { readSessions } from '../support/sessions.js';

const SEED = Number(process.env['FAULTS_SEED'] ?? 20_261_130);
const GOOD_EVENTS = 3_000;
/** How long a partition may stay behind before the test calls it a stall. */
const STALL_MS = scaled(60_000, 120_000);
// eslint-disable-next-line no-control-regex
const NOT_SINGLE_LINE = /[\u0000-\u001f\u007f]/;
const UNICODE_LINE_BREAKS = /[\u0080-\u009f\u2028\u2029]/;

const kafka = testKafka();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** Send one by one in the given order (large messages alone), keyed and with headers as given. */
async function produceInOrder(k: Kafka, topic: string, messages: readonly Outgoing[]): Promise<void> {
  const producer = k.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    let batch: Outgoing[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await producer.send({
        topic,
        acks: -1,
        messages: batch.map((m) => ({ key: m.key, value: m.value, ...(m.headers === undefined ? {} : { headers: m.headers }) })),
      });
      batch = [];
      bytes = 0;
    };
    for (const m of messages) {
      const size = m.value === null ? 0 : Buffer.byteLength(m.value);
      if (bytes + size > 256 * 1024) await flush();
      batch.push(m);
      bytes += size;
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
}

interface Instance {
  readonly service: Service;
  readonly db: TestDatabase;
  readonly group: string;
  readonly dlq: string;
  readonly options: NormalizeOptions;
  readonly warnings: string[];
}

async function startInstance(topic: string, name: string, extra: Record<string, string> = {}): Promise<Instance> {
  const db = await testDatabase(`faults_${name}`);
  const group = uniqueName(`${name}_group`);
  const dlq = uniqueName(`${name}_dlq`);
  await retrying('create the dead-letter topic', () => createTopic(kafka, dlq, 1));
  const config = inProcessConfig(db.database, {
    topics: topic,
    'group-id': group,
    'dlq-topic': dlq,
    'flush-interval-ms': '200',
    'log-level': 'warn',
    ...extra,
  });
  const warnings: string[] = [];
  const service = await startInProcess(config, { log: createLogger('warn', (l) => warnings.push(l)), clickhouse: db.handle });
  cleanups.push(async () => {
    await service.consumer.stop(5_000);
    await service.close();
    await db.drop();
  });
  await service.consumer.start();
  const options: NormalizeOptions = {
    limits: { maxMessageBytes: config.session.maxMessageBytes, maxUrlLength: 8_192, maxFieldLength: 1_024 },
  };
  return { service, db, group, dlq, options, warnings };
}

interface Verdict {
  readonly name: string;
  readonly messages: number;
  readonly lagZeroMs: number;
  readonly failure: string | undefined;
  readonly lost: number;
  readonly doubled: number;
  readonly sessions: number;
  readonly expectedSessions: number;
  readonly invalidByReason: Record<string, number>;
  readonly expectedInvalid: Record<string, number>;
  readonly excludedByReason: Record<string, number>;
  readonly expectedExcluded: Record<string, number>;
  readonly deadLetteredByReason: Record<string, number>;
  readonly dlqMessages: number;
  readonly badDlqHeaders: string[];
  readonly unicodeLineBreaksInHeaders: string[];
  readonly dlqMismatches: string[];
  /** Dead letters whose value was cut to fit the broker (`sessionizer-truncated-from`). */
  readonly truncatedDeadLetters: number;
}

/** Wait for lag 0, then check sessions, per-reason counts and the dead letters of one instance. */
async function verify(name: string, i: Instance, topic: string, source: readonly ReadMessage[], timeoutMs: number): Promise<Verdict> {
  const t = Date.now();
  try {
    await untilCommitted(kafka, i.group, topic, timeoutMs, () => {
      const f = i.service.consumer.failure;
      if (f !== undefined) throw new Error(`${name}: the consumer failed: ${f.message}`);
    });
  } catch (err) {
    const warned = [
      ...new Set(
        i.warnings
          .filter((l) => l.includes('"level":"warn"'))
          .map((l) => (JSON.parse(l) as { msg: string; error?: { message?: string } }).error?.message ?? ''),
      ),
    ];
    throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}; distinct service warnings: ${JSON.stringify(warned)}`);
  }
  const lagZeroMs = Date.now() - t;
  const oracle = oracleOf(
    'posthog-events',
    source.map((m) => m.value),
    i.options,
  );
  const actual = await readSessions(i.db.handle.client, i.db.database);
  const acc = account(actual, oracle.expected);
  expect(actual).toEqual(oracle.expected);
  // the dead letters are flushed with (before) the commit that covers them
  const text = await i.service.metrics.registry.metrics();
  const dead = await readTopic(kafka, i.dlq, 60_000);
  const bySource = new Map(source.map((m) => [`${m.partition}/${m.offset}`, m]));
  const badDlqHeaders: string[] = [];
  const unicodeLineBreaksInHeaders: string[] = [];
  const dlqMismatches: string[] = [];
  let truncated = 0;
  for (const d of dead) {
    for (const [k, v] of Object.entries(d.headers)) {
      if (NOT_SINGLE_LINE.test(v)) badDlqHeaders.push(`${k}=${JSON.stringify(v)}`);
      if (UNICODE_LINE_BREAKS.test(v)) unicodeLineBreaksInHeaders.push(`${k}=${JSON.stringify(v)}`);
    }
    const src = bySource.get(`${d.headers['sessionizer-source-partition'] ?? ''}/${d.headers['sessionizer-source-offset'] ?? ''}`);
    if (src === undefined) {
      dlqMismatches.push(`no source record for ${JSON.stringify(d.headers)}`);
      continue;
    }
    const r = decodeRecord('posthog-events', src.value, i.options);
    if (r.ok || d.headers['sessionizer-reason'] !== r.reason)
      dlqMismatches.push(
        `reason ${d.headers['sessionizer-reason'] ?? ''} for ${src.partition}/${src.offset}, normalize says ${r.ok ? 'ok' : r.reason}`,
      );
    if (d.key !== src.key) dlqMismatches.push(`key ${JSON.stringify(d.key)} != ${JSON.stringify(src.key)}`);
    // the original bytes; or, for a record too large for the broker even alone, a head of them
    // marked with the original size (the source coordinates point at the whole message)
    const original = src.value ?? Buffer.alloc(0);
    const copy = d.value ?? Buffer.alloc(0);
    const truncatedFrom = d.headers['sessionizer-truncated-from'];
    if (
      truncatedFrom === undefined
        ? !copy.equals(original)
        : Number(truncatedFrom) !== original.length || !original.subarray(0, copy.length).equals(copy)
    ) {
      dlqMismatches.push(
        `value of ${src.partition}/${src.offset} differs${truncatedFrom === undefined ? '' : ` (truncated from ${truncatedFrom})`}`,
      );
    }
    if (truncatedFrom !== undefined) truncated += 1;
    if (d.headers['sessionizer-source-topic'] !== topic || d.headers['sessionizer-format'] !== 'posthog-events')
      dlqMismatches.push(`headers ${JSON.stringify(d.headers)}`);
  }
  return {
    name,
    messages: source.length,
    lagZeroMs,
    failure: i.service.consumer.failure?.message,
    lost: acc.lost,
    doubled: acc.doubled,
    sessions: actual.length,
    expectedSessions: oracle.expected.length,
    invalidByReason: metricBy(text, 'sessionizer_invalid_events_total', 'reason'),
    expectedInvalid: oracle.invalid,
    excludedByReason: metricBy(text, 'sessionizer_excluded_events_total', 'reason'),
    expectedExcluded: oracle.excluded,
    deadLetteredByReason: metricBy(text, 'sessionizer_dead_lettered_events_total', 'reason'),
    dlqMessages: dead.length,
    badDlqHeaders,
    unicodeLineBreaksInHeaders,
    dlqMismatches,
    truncatedDeadLetters: truncated,
  };
}

function expectAccounted(v: Verdict, received: number): void {
  expect(v.failure).toBeUndefined();
  expect(received).toBe(v.messages);
  expect(v.invalidByReason).toEqual(v.expectedInvalid);
  expect(v.excludedByReason).toEqual(v.expectedExcluded);
  expect(v.deadLetteredByReason).toEqual(v.expectedInvalid);
  expect(v.dlqMessages).toBe(Object.values(v.expectedInvalid).reduce((a, b) => a + b, 0));
  expect(v.dlqMismatches).toEqual([]);
  expect(v.badDlqHeaders).toEqual([]);
  expect(v.lost).toBe(0);
  expect(v.doubled).toBe(0);
}

function interleave(good: readonly Outgoing[], bad: readonly CorpusMessage[], seed: number): Outgoing[] {
  const rng = new Rng(seed);
  const out: Outgoing[] = [...good];
  for (const m of bad) out.splice(rng.int(0, out.length), 0, m);
  return out;
}

describe('hostile input', () => {
  it('a corpus of bad messages in good traffic: no crash, no stall, every message accounted for, exact sessions', async () => {
    const started = Date.now();
    const topic = uniqueName('hostile');
    await retrying('create topic', () => createTopic(kafka, topic, 3));
    const corpus = hostileCorpus(SEED);
    const good = generated({ seed: SEED, events: GOOD_EVENTS, activeSessions: 100, rates: { duplicates: 0.02 } });
    await produceInOrder(kafka, topic, interleave(good, corpus, SEED));
    const h = await startInstance(topic, 'hostile');
    const ends = await endOffsets(kafka, topic);
    const source = await readTopic(kafka, topic, 120_000);
    expect(source.length).toBe([...ends.values()].reduce((a, b) => a + Number(b), 0));
    const v = await verify('default limits', h, topic, source, STALL_MS);
    const received = metricSum(await h.service.metrics.registry.metrics(), 'sessionizer_received_events_total');

    // SQL-looking strings: byte-identical out of ClickHouse, and the tables are all still there
    const rs = await h.db.handle.client.query({
      query: `SELECT distinct_id, entry_current_url, entry_utm_source, entry_utm_medium, entry_utm_campaign, entry_utm_term, entry_utm_content,
                     entry_referring_domain, entry_gclid, entry_fbclid, exit_current_url
              FROM ${h.db.database}.sessions WHERE entry_utm_campaign = {c:String} AND entry_utm_source = {s:String}`,
      query_params: { c: SQL_STRINGS.utm_campaign, s: SQL_STRINGS.utm_source },
      format: 'JSONEachRow',
    });
    const sqlRows = await rs.json<Record<string, string>>();
    expect(sqlRows).toEqual([
      {
        distinct_id: "Robert'); DROP TABLE students;--",
        entry_current_url: SQL_STRINGS.$current_url,
        entry_utm_source: SQL_STRINGS.utm_source,
        entry_utm_medium: SQL_STRINGS.utm_medium,
        entry_utm_campaign: SQL_STRINGS.utm_campaign,
        entry_utm_term: SQL_STRINGS.utm_term,
        entry_utm_content: SQL_STRINGS.utm_content,
        entry_referring_domain: SQL_STRINGS.$referring_domain,
        entry_gclid: SQL_STRINGS.gclid,
        entry_fbclid: SQL_STRINGS.fbclid,
        exit_current_url: "https://shop.example.com/exit?');DELETE FROM sessions_raw;--",
      },
    ]);
    const tables = await (
      await h.db.handle.client.query({ query: `SHOW TABLES FROM ${h.db.database}`, format: 'JSONEachRow' })
    ).json<{ name: string }>();
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['sessions', 'sessions_raw', 'session_partials_in']));

    // one $session_id in three teams: three sessions
    const shared = await (
      await h.db.handle.client.query({
        query: `SELECT team_id, entry_utm_source FROM ${h.db.database}.sessions WHERE entry_utm_source LIKE 'team_' ORDER BY team_id`,
        format: 'JSONEachRow',
      })
    ).json<{ team_id: number; entry_utm_source: string }>();
    expect(shared).toEqual([1, 2, 3].map((t) => ({ team_id: t, entry_utm_source: `team${t}` })));

    const kinds: Record<string, Record<string, number>> = {};
    for (const m of corpus) {
      const r = decodeRecord('posthog-events', m.value === null ? null : Buffer.from(m.value), h.options);
      const outcome = r.ok ? 'aggregated' : `${r.action}:${r.reason}`;
      kinds[m.kind] = { ...kinds[m.kind], [outcome]: (kinds[m.kind]?.[outcome] ?? 0) + 1 };
    }
    faultReport('hostile', {
      seed: SEED,
      part: 'corpus',
      eventsIn: v.messages,
      hostileMessages: corpus.length,
      goodMessages: good.length,
      sessionsOut: v.sessions,
      expectedSessions: v.expectedSessions,
      lost: v.lost,
      doubled: v.doubled,
      invalidByReason: v.invalidByReason,
      excludedByReason: v.excludedByReason,
      dlqMessages: v.dlqMessages,
      badDlqHeaders: v.badDlqHeaders,
      unicodeLineBreaksInHeaders: v.unicodeLineBreaksInHeaders,
      dlqMismatches: v.dlqMismatches.slice(0, 5),
      corpusOutcomes: kinds,
      recoveryMs: v.lagZeroMs,
      durationMs: Date.now() - started,
    });
    expectAccounted(v, received);
  });

  it('dead-letter headers: Unicode line breaks and C1 controls from the input are sanitized too', async () => {
    const topic = uniqueName('linebreaks');
    await retrying('create topic', () => createTopic(kafka, topic, 1));
    // each reaches sessionizer-message through a different rejection: V8's JSON error snippet,
    // the quoted timestamp, the quoted uuid (JSON.stringify escapes none of U+0085, U+2028, U+2029)
    const messages = [
      '{"uuid": \u2028\u2029\u0085 "x"}',
      eventMessage({ timestamp: `2026-11-26\u2028\u2029\u0085\u009b12:00:00` }),
      eventMessage({ uuid: `\u2028\u2029\u0085\u009b${'0'.repeat(32)}` }),
    ];
    await produceInOrder(
      kafka,
      topic,
      messages.map((value, n) => ({ key: `lb:${n}`, value })),
    );
    const source = await readTopic(kafka, topic);
    const h = await startInstance(topic, 'linebreaks');
    const v = await verify('unicode line breaks', h, topic, source, STALL_MS);
    faultReport('hostile', {
      seed: SEED,
      part: 'unicode line breaks in dlq headers',
      eventsIn: source.length,
      dlqMessages: v.dlqMessages,
      unicodeLineBreaksInHeaders: v.unicodeLineBreaksInHeaders,
      badDlqHeaders: v.badDlqHeaders,
    });
    expectAccounted(v, metricSum(await h.service.metrics.registry.metrics(), 'sessionizer_received_events_total'));
    expect(v.dlqMessages).toBe(3);
    expect(v.unicodeLineBreaksInHeaders).toEqual([]);
  });

  it('invalid messages of a few hundred KB each, over the broker limit together, in one flush: dead-lettered without a stall', async () => {
    const started = Date.now();
    const topic = uniqueName('biginvalid');
    await retrying('create topic', () => createTopic(kafka, topic, 1));
    const corpus = bigInvalidCorpus();
    const good = generated({ seed: SEED + 2, events: 1_000, activeSessions: 50 });
    // adjacent in one partition: one batch, one flush, one dead-letter send
    await produceInOrder(kafka, topic, [...good.slice(0, 500), ...corpus, ...good.slice(500)]);
    const source = await readTopic(kafka, topic, 120_000);
    // a long flush interval: the three are dead-lettered by one flush, whatever the fetch sizes
    const h = await startInstance(topic, 'biginvalid', { 'flush-interval-ms': '10000' });
    let verdict: Verdict | undefined;
    let error: string | undefined;
    try {
      verdict = await verify('big invalid messages', h, topic, source, STALL_MS);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const text = await h.service.metrics.registry.metrics();
    faultReport('hostile', {
      seed: SEED,
      part: 'big invalid messages in one flush',
      eventsIn: source.length,
      invalidBytes: corpus.map((m) => (m.value === null ? 0 : Buffer.byteLength(m.value))),
      ...(verdict === undefined
        ? {
            stalled: true,
            error: error?.slice(0, 600),
            received: metricSum(text, 'sessionizer_received_events_total'),
            ready: metricSum(text, 'sessionizer_ready'),
          }
        : { ...verdict, stalled: false }),
      durationMs: Date.now() - started,
    });
    if (error !== undefined) throw new Error(error);
    if (verdict !== undefined) expectAccounted(verdict, metricSum(text, 'sessionizer_received_events_total'));
  });

  it('messages as large as the broker accepts, with the default MAX_MESSAGE_BYTES and with one below it', async () => {
    const started = Date.now();
    const topic = uniqueName('large');
    await retrying('create topic', () => createTopic(kafka, topic, 2));

    // what the broker refuses, and the largest value it takes
    const probeTopic = uniqueName('probe');
    await retrying('create topic', () => createTopic(kafka, probeTopic, 1));
    const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner, retry: { retries: 0 } });
    await producer.connect();
    let tenMiB = 'accepted';
    try {
      await producer.send({ topic: probeTopic, acks: -1, messages: [{ key: 'large:0', value: Buffer.alloc(10 * 1024 * 1024, 0x61) }] });
    } catch (err) {
      tenMiB = `refused: ${err instanceof Error ? err.message : String(err)}`;
    }
    let lo = 900_000;
    let hi = 2 * 1024 * 1024;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      try {
        await producer.send({ topic: probeTopic, acks: -1, messages: [{ key: 'large:0', value: Buffer.alloc(mid, 0x61) }] });
        lo = mid;
      } catch {
        hi = mid;
      }
    }
    await producer.disconnect();
    const maxAccepted = lo;
    console.log(`the broker refuses 10 MiB (${tenMiB}); the largest value it accepts here is ${maxAccepted} bytes`);
    expect(tenMiB).toMatch(/^refused/);

    const corpus = largeCorpus(maxAccepted);
    const good = generated({ seed: SEED + 1, events: 1_000, activeSessions: 50 });
    await produceInOrder(kafka, topic, interleave(good, corpus, SEED + 1));
    const source = await readTopic(kafka, topic, 120_000);
    const small = 65_536;
    const [dflt, below] = await Promise.all([
      startInstance(topic, 'large_default'),
      startInstance(topic, 'large_below', { 'max-message-bytes': String(small) }),
    ]);
    const results = await Promise.allSettled([
      verify('default MAX_MESSAGE_BYTES', dflt, topic, source, STALL_MS),
      verify(`MAX_MESSAGE_BYTES=${small}`, below, topic, source, STALL_MS),
    ]);
    const verdicts = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    const problems = (i: Instance): string[] =>
      i.warnings
        .filter((l) => l.includes('"level":"warn"') || l.includes('"level":"error"'))
        .slice(0, 3)
        .map((l) => l.slice(0, 400));
    const received = await Promise.all(
      [dflt, below].map(async (i) => metricSum(await i.service.metrics.registry.metrics(), 'sessionizer_received_events_total')),
    );
    faultReport('hostile', {
      seed: SEED,
      part: 'broker-sized messages',
      tenMiB,
      maxAcceptedValueBytes: maxAccepted,
      eventsIn: source.length,
      results: results.map((r, n) =>
        r.status === 'fulfilled'
          ? { ...r.value, badDlqHeaders: r.value.badDlqHeaders.length, dlqMismatches: r.value.dlqMismatches.slice(0, 3) }
          : {
              name: n === 0 ? 'default' : `below ${small}`,
              error: String(r.reason).slice(0, 300),
              warnings: problems(n === 0 ? dflt : below),
              received: received[n],
            },
      ),
      durationMs: Date.now() - started,
    });
    for (const [n, r] of results.entries()) {
      if (r.status === 'rejected')
        throw new Error(
          `${n === 0 ? 'default limit' : `MAX_MESSAGE_BYTES=${small}`}: ${String(r.reason)}; service warnings: ${problems(n === 0 ? dflt : below).join(' | ')}`,
        );
    }
    for (const [n, v] of verdicts.entries()) if (v !== undefined) expectAccounted(v, received[n] ?? -1);
    await sleep(0);
  });
});
