/**
 * The oracle's answer for whatever a topic holds (each record classified by the core's
 * `decodeRecord`, as the consumer does), and the lost/doubled accounting of the sessions written
 * against it.
 */
import { decodeRecord, type InputFormat, type NormalizeOptions, type Session, type SessionEvent } from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import type { Kafka } from 'kafkajs';
import { readTopic, type ReadMessage } from './kafka.js';

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
    const r = decodeRecord(format, v, options); // what the consumer does with the record
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
