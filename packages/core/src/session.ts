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
import {
  ANY,
  COUNTS,
  ENTRY_EVENT,
  KEYED,
  SETS,
  appliesTo,
  compareUtf8,
  finalSet,
  type ScalarAggregation,
  type ScalarProperty,
  type SetProperty,
  type Value,
} from './catalog.js';
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

/** `v` added to `slots[i]` in place (withValue); the change of valuesBytes(slots[i]). */
function addValue(slots: Values[], i: number, v: string): number {
  const cur = slots[i] ?? EMPTY;
  if (!Array.isArray(cur)) {
    const set = cur as Set<string>;
    const n = set.size;
    set.add(v);
    return set.size === n ? 0 : SET_VALUE_BYTES;
  }
  const arr = cur as string[];
  if (arr.includes(v)) return 0;
  if (arr === EMPTY) {
    slots[i] = [v];
    return ARRAY_BYTES + ARRAY_VALUE_BYTES;
  }
  if (arr.length < SMALL) {
    arr.push(v);
    return ARRAY_VALUE_BYTES;
  }
  slots[i] = new Set([...arr, v]);
  return SET_BYTES + SET_VALUE_BYTES * (SMALL + 1) - (ARRAY_BYTES + ARRAY_VALUE_BYTES * SMALL);
}

/** Where the sets' `each` hands its values: one function, no closure per event. */
let sinkSlots: Values[] = [];
let sinkIndex = 0;
let sinkDelta = 0;
function sink(v: string): void {
  sinkDelta += addValue(sinkSlots, sinkIndex, v);
}

/** Adds the event to the counts and sets; the change of their estimated bytes. */
function addSets(state: SessionState, e: SessionEvent): number {
  let delta = 0;
  sinkDelta = 0;
  for (let i = 0; i < COUNTS.length; i += 1) {
    if (COUNTS_APPLY[i]?.includes(e.event) === true) delta += addValue(state.counts, i, e.uuid);
  }
  const page = isPageLike(e.event);
  for (let i = 0; i < SETS.length; i += 1) {
    const p = SETS[i] as SetProperty;
    const applies = p.applies;
    if (applies !== 'all' && (applies === 'pageLike' ? !page : !applies.includes(e.event))) continue;
    sinkSlots = state.sets;
    sinkIndex = i;
    p.each(e, sink);
    // Values beyond the cap's smallest can never be shown: dropping them keeps memory bounded.
    const cap = p.cap;
    const cur = state.sets[i] ?? EMPTY;
    if (cap !== null && sizeOf(cur) > 2 * cap) {
      const trimmed = new Set([...cur].sort(compareUtf8).slice(0, cap));
      delta += valuesBytes(trimmed) - valuesBytes(cur);
      state.sets[i] = trimmed;
    }
  }
  return delta + sinkDelta;
}

/**
 * Fold one event into a state in place. Equivalent to `mergeInto(state, stateOf(e))`. Returns the
 * change of `estimateStateBytes(state)`, so the buffer need not count the whole state per event.
 */
export function addEvent(state: SessionState, e: SessionEvent): number {
  if (e.teamId !== state.teamId || e.sessionId !== state.sessionId) {
    throw new Error(`addEvent: event of ${sessionKey(e.teamId, e.sessionId)} into ${sessionKey(state.teamId, state.sessionId)}`);
  }
  const ts = e.timestamp;
  if (ts < state.startTs) state.startTs = ts;
  if (ts > state.endTs) state.endTs = ts;
  const page = isPageLike(e.event);
  const uuid = e.uuid;
  // made on the first candidate this event wins, and shared by all its candidates
  let key: EventKey | null = null;
  let delta = 0;
  // Candidates of one event share its key: compare the event with each distinct key once per
  // aggregation (most slots of a state hold the first event's values).
  let lastKey: EventKey | null = null;
  let lastAgg = -1;
  let lastBeats = false;
  const keyed = state.keyed;
  for (let i = 0; i < KEYED.length; i += 1) {
    const current = keyed[i] ?? null;
    if (current !== null) {
      const agg = KEYED_AGG[i] as number;
      if (current.key !== lastKey || agg !== lastAgg) {
        lastKey = current.key;
        lastAgg = agg;
        lastBeats = beats(agg, page, ts, uuid, current.key);
      }
      if (!lastBeats) continue;
    }
    const value = valueOn(KEYED[i] as ScalarProperty, e);
    if (value === null) continue;
    key ??= { page, ts, uuid };
    keyed[i] = { key, value };
    delta += bytesOf(value) - (current === null ? -CANDIDATE_BYTES : bytesOf(current.value));
  }
  if (beats(AGG_ENTRY, page, ts, uuid, state.entryEvent.key)) {
    const before = state.entryEvent.value;
    state.entryEvent = entryEventOf(e, key ?? { page, ts, uuid });
    delta += entryBytes(state.entryEvent.value) - entryBytes(before);
  }
  for (let i = 0; i < ANY.length; i += 1) {
    const p = ANY[i] as ScalarProperty;
    state.any[i] = minValue(state.any[i] ?? null, valueOn(p, e));
  }
  return delta + addSets(state, e);
}

const AGG_ENTRY = 0;
const AGG_EXIT = 1;
const AGG_FIRST = 2;
const AGG_LAST = 3;
const AGG_CODE: Partial<Record<ScalarAggregation, number>> = { entry: AGG_ENTRY, exit: AGG_EXIT, first: AGG_FIRST, last: AGG_LAST };
/** KEYED's aggregations as small integers. */
const KEYED_AGG: readonly number[] = KEYED.map((p) => {
  const code = AGG_CODE[p.aggregation];
  if (code === undefined) throw new Error(`session: ${p.column} is keyed but aggregated by ${p.aggregation}`);
  return code;
});
const COUNTS_APPLY: readonly (readonly string[])[] = COUNTS.map((p) => p.applies);

/**
 * Whether an event with this key is a better candidate than `k` for the aggregation: exactly
 * `compareKeys(aggregation, { page, ts, uuid }, k) < 0`, without the key object.
 */
function beats(agg: number, page: boolean, ts: number, uuid: string, k: EventKey): boolean {
  switch (agg) {
    case AGG_ENTRY:
      return page !== k.page ? page : ts !== k.ts ? ts < k.ts : uuid < k.uuid;
    case AGG_EXIT:
      return page !== k.page ? page : ts !== k.ts ? ts > k.ts : uuid > k.uuid;
    case AGG_FIRST:
      return ts !== k.ts ? ts < k.ts : uuid < k.uuid;
    default:
      return ts !== k.ts ? ts > k.ts : uuid > k.uuid;
  }
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

// The estimate's constants: an array of up to SMALL values ~ 32 bytes + 8 a slot, a Set ~ 160 +
// 40 a value; a candidate object 24 bytes (the key object is shared by the candidates of one
// event); strings are mostly shared with the event they came from.
const ARRAY_BYTES = 32;
const ARRAY_VALUE_BYTES = 8;
const SET_BYTES = 160;
const SET_VALUE_BYTES = 40;
const CANDIDATE_BYTES = 24;

function valuesBytes(values: Values): number {
  const n = sizeOf(values);
  if (n === 0) return 0;
  return Array.isArray(values) ? ARRAY_BYTES + ARRAY_VALUE_BYTES * n : SET_BYTES + SET_VALUE_BYTES * n;
}

// V8 keeps ASCII strings at one byte per character.
const bytesOf = (v: Value): number => (typeof v === 'string' ? 16 + v.length : 8);

function entryBytes(values: readonly Value[]): number {
  let bytes = 0;
  for (const v of values) bytes += 8 + (typeof v === 'string' ? v.length : 0);
  return bytes;
}

/**
 * A rough count of the bytes a state holds in the V8 heap, for flush-by-bytes accounting. The
 * buffer counts it once per state and then adds addEvent's changes, which keep it exact.
 */
export function estimateStateBytes(s: SessionState): number {
  let bytes = 0;
  for (const c of s.keyed) if (c !== null) bytes += CANDIDATE_BYTES + bytesOf(c.value);
  bytes += entryBytes(s.entryEvent.value);
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
