/**
 * The per-session aggregate, and its merge.
 *
 * INVARIANT (mergeable aggregates): merge is associative, commutative and idempotent, so any
 * split of a session's events — across flushes, partitions, consumers, restarts — merges to the
 * same final state, and duplicates never double count. Every field is one of:
 *   min / max                 start and end timestamps
 *   arg-min / arg-max by key  entry, exit and the latest distinct_id; keys are total orders
 *                             ending in the event uuid, so ties break the same way everywhere
 *   set union                 uuids of $pageview / $autocapture / $screen (counts are set sizes)
 * ClickHouse keeps exactly the same functions as partial states (see packages/clickhouse).
 */
import { attributionSites } from './channel/index.js';
import { isPageLike, type SessionEvent } from './event.js';
import { uuidV7Millis } from './uuid.js';
import { pathnameOf } from './url.js';

/** Entry: the first `$pageview`/`$screen`, else the first event. Min by (rank, ts, uuid). */
export interface EntryPoint {
  /** 0 for `$pageview`/`$screen`, 1 for anything else: page-like events win. */
  readonly rank: 0 | 1;
  readonly ts: number;
  readonly uuid: string;
  readonly currentUrl: string | null;
  readonly pathname: string | null;
  readonly utmSource: string | null;
  readonly utmMedium: string | null;
  readonly utmCampaign: string | null;
  readonly utmTerm: string | null;
  readonly utmContent: string | null;
  readonly referringDomain: string | null;
  readonly gclid: string | null;
  readonly gadSource: string | null;
  readonly fbclid: string | null;
  /** Registrable domains of the normalised utm_source and of the referring domain, for channel lookups. */
  readonly sourceSite: string | null;
  readonly referringSite: string | null;
}

/** Exit: the last `$pageview`/`$screen`, else the last event. Max by (rank, ts, uuid). */
export interface ExitPoint {
  /** 1 for `$pageview`/`$screen`, 0 for anything else: page-like events win. */
  readonly rank: 0 | 1;
  readonly ts: number;
  readonly uuid: string;
  readonly currentUrl: string | null;
  readonly pathname: string | null;
}

/** distinct_id of the latest event: max by (ts, uuid). */
export interface LastSeen {
  readonly ts: number;
  readonly uuid: string;
  readonly distinctId: string;
}

export interface SessionState {
  readonly teamId: number;
  readonly sessionId: string;
  /** Milliseconds of the session id's UUIDv7 prefix (the table's sort and partition key). */
  readonly sessionStartMs: number;
  startTs: number;
  endTs: number;
  last: LastSeen;
  entry: EntryPoint;
  exit: ExitPoint;
  /** Distinct event uuids per kind. Read-only outside this file: they start as a shared empty set. */
  pageviews: ReadonlySet<string>;
  autocaptures: ReadonlySet<string>;
  screens: ReadonlySet<string>;
}

/**
 * The empty uuid set all states start with. An empty Set costs ~160 bytes of heap, and most
 * sessions in a flush window only see one kind of event: a real Set is made on the first add.
 */
const NO_UUIDS: ReadonlySet<string> = new Set<string>();

type UuidKind = 'pageviews' | 'autocaptures' | 'screens';

function addUuid(state: SessionState, kind: UuidKind, uuid: string): void {
  const set = state[kind];
  if (set === NO_UUIDS) state[kind] = new Set([uuid]);
  else (set as Set<string>).add(uuid);
}

function addUuids(state: SessionState, kind: UuidKind, uuids: ReadonlySet<string>): void {
  if (uuids.size === 0) return;
  const set = state[kind];
  if (set === NO_UUIDS) state[kind] = new Set(uuids);
  else for (const u of uuids) (set as Set<string>).add(u);
}

const copyUuids = (set: ReadonlySet<string>): ReadonlySet<string> => (set.size === 0 ? NO_UUIDS : new Set(set));

/** Key of a session in maps: sessions of different teams never mix, even with equal ids. */
export function sessionKey(teamId: number, sessionId: string): string {
  return `${teamId}:${sessionId}`;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Order of entry candidates; negative when `a` is the better (earlier) entry. */
export function compareEntry(a: EntryPoint, b: EntryPoint): number {
  return a.rank - b.rank || a.ts - b.ts || cmp(a.uuid, b.uuid);
}

/** Order of exit candidates; positive when `a` is the better (later) exit. */
export function compareExit(a: ExitPoint, b: ExitPoint): number {
  return a.rank - b.rank || a.ts - b.ts || cmp(a.uuid, b.uuid);
}

export function compareLast(a: LastSeen, b: LastSeen): number {
  return a.ts - b.ts || cmp(a.uuid, b.uuid);
}

export function entryOf(e: SessionEvent): EntryPoint {
  const sites = attributionSites(e);
  return {
    rank: isPageLike(e.event) ? 0 : 1,
    ts: e.timestamp,
    uuid: e.uuid,
    currentUrl: e.currentUrl,
    pathname: pathnameOf(e.currentUrl),
    utmSource: e.utmSource,
    utmMedium: e.utmMedium,
    utmCampaign: e.utmCampaign,
    utmTerm: e.utmTerm,
    utmContent: e.utmContent,
    referringDomain: e.referringDomain,
    gclid: e.gclid,
    gadSource: e.gadSource,
    fbclid: e.fbclid,
    sourceSite: sites.sourceSite,
    referringSite: sites.referringSite,
  };
}

export function exitOf(e: SessionEvent): ExitPoint {
  return {
    rank: isPageLike(e.event) ? 1 : 0,
    ts: e.timestamp,
    uuid: e.uuid,
    currentUrl: e.currentUrl,
    pathname: pathnameOf(e.currentUrl),
  };
}

function addToSets(state: SessionState, e: SessionEvent): void {
  if (e.event === '$pageview') addUuid(state, 'pageviews', e.uuid);
  else if (e.event === '$autocapture') addUuid(state, 'autocaptures', e.uuid);
  else if (e.event === '$screen') addUuid(state, 'screens', e.uuid);
}

/** The state of a session that has seen exactly this one event. */
export function stateOf(e: SessionEvent): SessionState {
  const state: SessionState = {
    teamId: e.teamId,
    sessionId: e.sessionId,
    sessionStartMs: uuidV7Millis(e.sessionId),
    startTs: e.timestamp,
    endTs: e.timestamp,
    last: { ts: e.timestamp, uuid: e.uuid, distinctId: e.distinctId },
    entry: entryOf(e),
    exit: exitOf(e),
    pageviews: NO_UUIDS,
    autocaptures: NO_UUIDS,
    screens: NO_UUIDS,
  };
  addToSets(state, e);
  return state;
}

/**
 * Fold one event into a state in place (the hot path: candidates are only built when the event
 * wins). Equivalent to `mergeInto(state, stateOf(e))`.
 */
export function addEvent(state: SessionState, e: SessionEvent): void {
  if (e.teamId !== state.teamId || e.sessionId !== state.sessionId) {
    throw new Error(`addEvent: event of ${sessionKey(e.teamId, e.sessionId)} into ${sessionKey(state.teamId, state.sessionId)}`);
  }
  const ts = e.timestamp;
  if (ts < state.startTs) state.startTs = ts;
  if (ts > state.endTs) state.endTs = ts;
  if (ts > state.last.ts || (ts === state.last.ts && e.uuid > state.last.uuid)) {
    state.last = { ts, uuid: e.uuid, distinctId: e.distinctId };
  }
  const page = isPageLike(e.event);
  const entryRank = page ? 0 : 1;
  const en = state.entry;
  if (entryRank < en.rank || (entryRank === en.rank && (ts < en.ts || (ts === en.ts && e.uuid < en.uuid)))) {
    state.entry = entryOf(e);
  }
  const exitRank = page ? 1 : 0;
  const ex = state.exit;
  if (exitRank > ex.rank || (exitRank === ex.rank && (ts > ex.ts || (ts === ex.ts && e.uuid > ex.uuid)))) {
    state.exit = exitOf(e);
  }
  addToSets(state, e);
}

/** Merge `source` into `target` in place. `source` is not modified. */
export function mergeInto(target: SessionState, source: SessionState): void {
  if (target.teamId !== source.teamId || target.sessionId !== source.sessionId) {
    throw new Error(`mergeInto: ${sessionKey(source.teamId, source.sessionId)} into ${sessionKey(target.teamId, target.sessionId)}`);
  }
  if (source.startTs < target.startTs) target.startTs = source.startTs;
  if (source.endTs > target.endTs) target.endTs = source.endTs;
  if (compareLast(source.last, target.last) > 0) target.last = source.last;
  if (compareEntry(source.entry, target.entry) < 0) target.entry = source.entry;
  if (compareExit(source.exit, target.exit) > 0) target.exit = source.exit;
  addUuids(target, 'pageviews', source.pageviews);
  addUuids(target, 'autocaptures', source.autocaptures);
  addUuids(target, 'screens', source.screens);
}

export function cloneState(s: SessionState): SessionState {
  return { ...s, pageviews: copyUuids(s.pageviews), autocaptures: copyUuids(s.autocaptures), screens: copyUuids(s.screens) };
}

/** A new state equal to the merge of `a` and `b`; neither is modified. */
export function merge(a: SessionState, b: SessionState): SessionState {
  const out = cloneState(a);
  mergeInto(out, b);
  return out;
}

// V8 keeps ASCII strings at one byte per character.
const str = (v: string | null): number => (v === null ? 0 : 16 + v.length);

/** A rough count of the bytes a state holds in the V8 heap, for flush-by-bytes accounting. */
export function estimateStateBytes(s: SessionState): number {
  const e = s.entry;
  const entryBytes =
    str(e.currentUrl) +
    str(e.pathname) +
    str(e.utmSource) +
    str(e.utmMedium) +
    str(e.utmCampaign) +
    str(e.utmTerm) +
    str(e.utmContent) +
    str(e.referringDomain) +
    str(e.gclid) +
    str(e.gadSource) +
    str(e.fbclid) +
    str(e.sourceSite) +
    str(e.referringSite);
  const exitBytes = str(s.exit.currentUrl) + str(s.exit.pathname);
  const uuids = s.pageviews.size + s.autocaptures.size + s.screens.size;
  const sets = (s.pageviews.size > 0 ? 1 : 0) + (s.autocaptures.size > 0 ? 1 : 0) + (s.screens.size > 0 ? 1 : 0);
  // Calibrated against the V8 heap (npm run bench:core): object shells and the map entry
  // ~ 300 bytes, a Set ~ 160, a uuid string in a Set ~ 64; strings are shared with nothing.
  return 300 + entryBytes + exitBytes + str(s.last.distinctId) + sets * 160 + uuids * 64;
}
