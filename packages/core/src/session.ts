/**
 * The per-session aggregate, and its merge; one slot per stored property of the catalog.
 *
 * INVARIANT (mergeable aggregates): merge is associative, commutative and idempotent, so any
 * split of a session's events — across flushes, partitions, consumers, restarts — merges to the
 * same final state, and duplicates never double count. Every slot is one of:
 *   min / max                 start and end timestamps
 *   keyed candidate           (key, value) of the best event with a non-null value; keys are
 *                             total orders ending in the event uuid, so ties break the same
 *                             way everywhere (entry, exit, first, last)
 *   entry event               the values of the best event by (page-like first, ts, uuid), whole
 *   min of value              `any` properties
 *   set union                 uuids (counts are set sizes) and capped value sets
 * ClickHouse keeps exactly the same functions as partial states (see packages/clickhouse).
 */
import { ANY, COUNTS, ENTRY_EVENT, KEYED, SETS, appliesTo, compareUtf8, finalSet, type ScalarAggregation, type Value } from './catalog.js';
import type { SessionFacts } from './derive.js';
import { isPageLike, type SessionEvent } from './event.js';
import { uuidV7Millis } from './uuid.js';

/** Which event a candidate came from: page-like or not, its time and uuid. */
export interface EventKey {
  readonly page: boolean;
  readonly ts: number;
  readonly uuid: string;
}

export interface Candidate<T = Value> {
  readonly key: EventKey;
  readonly value: T;
}

export interface SessionState {
  readonly teamId: number;
  readonly sessionId: string;
  /** Milliseconds of the session id's UUIDv7 prefix (the table's sort and partition key). */
  readonly sessionStartMs: number;
  startTs: number;
  endTs: number;
  /** Per KEYED property: its best non-null candidate, or null. */
  keyed: (Candidate | null)[];
  /** The entry event's values of the ENTRY_EVENT properties, in their order. */
  entryEvent: Candidate<readonly Value[]>;
  /** Per ANY property: the least non-null value. */
  any: Value[];
  /** Per COUNTS property: distinct event uuids. Read-only outside this file (see Values). */
  counts: Values[];
  /** Per SETS property: distinct values (trimmed to the cap's smallest beyond twice the cap). */
  sets: Values[];
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Key order of an aggregation; negative when `a` is the better candidate. */
export function compareKeys(aggregation: ScalarAggregation, a: EventKey, b: EventKey): number {
  switch (aggregation) {
    case 'entry':
    case 'entryEvent':
      return Number(b.page) - Number(a.page) || a.ts - b.ts || cmp(a.uuid, b.uuid);
    case 'exit':
      return Number(b.page) - Number(a.page) || b.ts - a.ts || cmp(b.uuid, a.uuid);
    case 'first':
      return a.ts - b.ts || cmp(a.uuid, b.uuid);
    case 'last':
      return b.ts - a.ts || cmp(b.uuid, a.uuid);
    case 'any':
      return 0;
  }
}

/**
 * Distinct strings: a small array (most sessions hold one to a few values per set, and an array
 * costs a fraction of a Set's heap), a Set beyond SMALL values. All states start with the shared
 * empty array; a state's own container is made on its first add.
 */
export type Values = readonly string[] | ReadonlySet<string>;
const EMPTY: readonly string[] = [];
const SMALL = 8;
export const sizeOf = (v: Values): number => (Array.isArray(v) ? v.length : (v as ReadonlySet<string>).size);

/** Key of a session in maps: sessions of different teams never mix, even with equal ids. */
export function sessionKey(teamId: number, sessionId: string): string {
  return `${teamId}:${sessionId}`;
}

export function keyOf(e: SessionEvent): EventKey {
  return { page: isPageLike(e.event), ts: e.timestamp, uuid: e.uuid };
}

/** A property's value on an event, or null when the property does not apply to it. */
export function valueOn(p: { applies: Parameters<typeof appliesTo>[0]; read(e: SessionEvent): Value }, e: SessionEvent): Value {
  return appliesTo(p.applies, e.event) ? p.read(e) : null;
}

function entryEventOf(e: SessionEvent, key: EventKey): Candidate<readonly Value[]> {
  return { key, value: ENTRY_EVENT.map((p) => valueOn(p, e)) };
}

function minValue(a: Value, b: Value): Value {
  if (a === null) return b;
  if (b === null) return a;
  if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b) <= 0 ? a : b;
  return a <= b ? a : b;
}

/** `cur` with `v` added: the same container, or a new one when it has to grow (EMPTY, array → Set). */
function withValue(cur: Values, v: string): Values {
  if (!Array.isArray(cur)) return (cur as Set<string>).add(v);
  const arr = cur as string[];
  if (arr.includes(v)) return arr;
  if (arr === EMPTY) return [v];
  if (arr.length < SMALL) {
    arr.push(v);
    return arr;
  }
  return new Set([...arr, v]);
}

function addToSet(state: SessionState, kind: 'counts' | 'sets', i: number, values: Iterable<string>): void {
  let cur: Values = state[kind][i] ?? EMPTY;
  for (const v of values) cur = withValue(cur, v);
  state[kind][i] = cur;
  if (kind === 'sets') {
    const cap = SETS[i]?.cap ?? null;
    // Values beyond the cap's smallest can never be shown: dropping them keeps memory bounded.
    if (cap !== null && sizeOf(cur) > 2 * cap) state.sets[i] = new Set([...cur].sort(compareUtf8).slice(0, cap));
  }
}

/** The state of a session that has seen exactly this one event. */
export function stateOf(e: SessionEvent): SessionState {
  const key = keyOf(e);
  const state: SessionState = {
    teamId: e.teamId,
    sessionId: e.sessionId,
    sessionStartMs: uuidV7Millis(e.sessionId),
    startTs: e.timestamp,
    endTs: e.timestamp,
    keyed: KEYED.map((p) => {
      const value = valueOn(p, e);
      return value === null ? null : { key, value };
    }),
    entryEvent: entryEventOf(e, key),
    any: ANY.map((p) => valueOn(p, e)),
    counts: COUNTS.map(() => EMPTY),
    sets: SETS.map(() => EMPTY),
  };
  addSets(state, e);
  return state;
}

function addSets(state: SessionState, e: SessionEvent): void {
  for (let i = 0; i < COUNTS.length; i += 1) {
    if (COUNTS[i]?.applies.includes(e.event) === true) state.counts[i] = withValue(state.counts[i] ?? EMPTY, e.uuid);
  }
  for (let i = 0; i < SETS.length; i += 1) {
    const p = SETS[i];
    if (p !== undefined && appliesTo(p.applies, e.event)) addToSet(state, 'sets', i, p.read(e));
  }
}

/** Fold one event into a state in place. Equivalent to `mergeInto(state, stateOf(e))`. */
export function addEvent(state: SessionState, e: SessionEvent): void {
  if (e.teamId !== state.teamId || e.sessionId !== state.sessionId) {
    throw new Error(`addEvent: event of ${sessionKey(e.teamId, e.sessionId)} into ${sessionKey(state.teamId, state.sessionId)}`);
  }
  const ts = e.timestamp;
  if (ts < state.startTs) state.startTs = ts;
  if (ts > state.endTs) state.endTs = ts;
  const key = keyOf(e);
  for (let i = 0; i < KEYED.length; i += 1) {
    const p = KEYED[i] as (typeof KEYED)[number];
    const current = state.keyed[i] ?? null;
    if (current !== null && compareKeys(p.aggregation, key, current.key) >= 0) continue;
    const value = valueOn(p, e);
    if (value !== null) state.keyed[i] = { key, value };
  }
  if (compareKeys('entryEvent', key, state.entryEvent.key) < 0) state.entryEvent = entryEventOf(e, key);
  for (let i = 0; i < ANY.length; i += 1) {
    const p = ANY[i] as (typeof ANY)[number];
    state.any[i] = minValue(state.any[i] ?? null, valueOn(p, e));
  }
  addSets(state, e);
}

/** Merge `source` into `target` in place. `source` is not modified. */
export function mergeInto(target: SessionState, source: SessionState): void {
  if (target.teamId !== source.teamId || target.sessionId !== source.sessionId) {
    throw new Error(`mergeInto: ${sessionKey(source.teamId, source.sessionId)} into ${sessionKey(target.teamId, target.sessionId)}`);
  }
  if (source.startTs < target.startTs) target.startTs = source.startTs;
  if (source.endTs > target.endTs) target.endTs = source.endTs;
  for (let i = 0; i < KEYED.length; i += 1) {
    const s = source.keyed[i] ?? null;
    const t = target.keyed[i] ?? null;
    if (s !== null && (t === null || compareKeys((KEYED[i] as (typeof KEYED)[number]).aggregation, s.key, t.key) < 0)) {
      target.keyed[i] = s;
    }
  }
  if (compareKeys('entryEvent', source.entryEvent.key, target.entryEvent.key) < 0) target.entryEvent = source.entryEvent;
  for (let i = 0; i < ANY.length; i += 1) target.any[i] = minValue(target.any[i] ?? null, source.any[i] ?? null);
  for (let i = 0; i < COUNTS.length; i += 1) addToSet(target, 'counts', i, source.counts[i] ?? EMPTY);
  for (let i = 0; i < SETS.length; i += 1) addToSet(target, 'sets', i, source.sets[i] ?? EMPTY);
}

export function cloneState(s: SessionState): SessionState {
  const copy = (v: Values): Values => (sizeOf(v) === 0 ? EMPTY : Array.isArray(v) ? [...(v as readonly string[])] : new Set(v));
  return { ...s, keyed: [...s.keyed], any: [...s.any], counts: s.counts.map(copy), sets: s.sets.map(copy) };
}

/** A new state equal to the merge of `a` and `b`; neither is modified. */
export function merge(a: SessionState, b: SessionState): SessionState {
  const out = cloneState(a);
  mergeInto(out, b);
  return out;
}

function valuesBytes(values: Values): number {
  const n = sizeOf(values);
  if (n === 0) return 0;
  return Array.isArray(values) ? 32 + 8 * n : 160 + 40 * n;
}

// V8 keeps ASCII strings at one byte per character.
const bytesOf = (v: Value): number => (typeof v === 'string' ? 16 + v.length : 8);

/** A rough count of the bytes a state holds in the V8 heap, for flush-by-bytes accounting. */
export function estimateStateBytes(s: SessionState): number {
  let bytes = 0;
  // a candidate object (the key object is shared by the candidates of one event)
  for (const c of s.keyed) if (c !== null) bytes += 24 + bytesOf(c.value);
  for (const v of s.entryEvent.value) bytes += 8 + (typeof v === 'string' ? v.length : 0);
  // an array of up to SMALL values ~ 32 bytes + 8 a slot, a Set ~ 160 + 40 a value; strings
  // are mostly shared with the event they came from (indexed loops: this runs twice per event)
  for (let i = 0; i < s.counts.length; i += 1) bytes += valuesBytes(s.counts[i] ?? EMPTY);
  for (let i = 0; i < s.sets.length; i += 1) bytes += valuesBytes(s.sets[i] ?? EMPTY);
  // Calibrated against the V8 heap (npm run bench:core, 100k generated events: heap 2,420–2,615
  // bytes per session): object shells, the slot arrays, the map entry, the event keys and the
  // kept strings ~ 1,300 bytes.
  return 1_300 + bytes;
}

/** What a (merged) state knows, for toSession. */
export function factsOf(s: SessionState): SessionFacts {
  const values: Record<string, Value | readonly string[]> = {};
  KEYED.forEach((p, i) => (values[p.column] = s.keyed[i]?.value ?? null));
  ENTRY_EVENT.forEach((p, i) => (values[p.column] = s.entryEvent.value[i] ?? null));
  ANY.forEach((p, i) => (values[p.column] = s.any[i] ?? null));
  COUNTS.forEach((p, i) => (values[p.column] = sizeOf(s.counts[i] ?? EMPTY)));
  SETS.forEach((p, i) => (values[p.column] = finalSet(s.sets[i] ?? EMPTY, p.cap)));
  return { teamId: s.teamId, sessionId: s.sessionId, startTs: s.startTs, endTs: s.endTs, values };
}
