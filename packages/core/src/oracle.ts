/**
 * The reference oracle: the expected sessions of a list of events, computed the plain way —
 * group, sort, pick, per catalog property — with no partial states and no merge. Every streaming
 * test compares ClickHouse's `sessions` with this. It shares with session.ts only the catalog
 * (which value an event contributes) and the key orders.
 */
import { ANY, COUNTS, ENTRY_EVENT, KEYED, SETS, appliesTo, compareUtf8, finalSet, type Value } from './catalog.js';
import type { SessionEvent } from './event.js';
import { compareSessions, toSession, type DeriveOptions, type Session } from './derive.js';
import { compareKeys, keyOf, sessionKey, valueOn } from './session.js';

export function sessionize(events: readonly SessionEvent[], options: DeriveOptions = {}): Session[] {
  const groups = new Map<string, SessionEvent[]>();
  for (const e of events) {
    const key = sessionKey(e.teamId, e.sessionId);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [e]);
    else group.push(e);
  }
  const sessions: Session[] = [];
  for (const group of groups.values()) {
    const first = group[0];
    if (first === undefined) continue;
    const values: Record<string, Value | readonly string[]> = {};
    for (const p of KEYED) {
      const sorted = [...group].sort((a, b) => compareKeys(p.aggregation, keyOf(a), keyOf(b)));
      values[p.column] = sorted.map((e) => valueOn(p, e)).find((v) => v !== null) ?? null;
    }
    const entryEvent = [...group].sort((a, b) => compareKeys('entryEvent', keyOf(a), keyOf(b)))[0] ?? first;
    for (const p of ENTRY_EVENT) values[p.column] = valueOn(p, entryEvent);
    for (const p of ANY) {
      const all = group.map((e) => valueOn(p, e)).filter((v): v is string | number | boolean => v !== null);
      values[p.column] =
        all.length === 0
          ? null
          : ([...all].sort((a, b) => (typeof a === 'string' && typeof b === 'string' ? compareUtf8(a, b) : Number(a) - Number(b)))[0] ??
            null);
    }
    for (const p of COUNTS) values[p.column] = new Set(group.filter((e) => p.applies.includes(e.event)).map((e) => e.uuid)).size;
    for (const p of SETS)
      values[p.column] = finalSet(new Set(group.filter((e) => appliesTo(p.applies, e.event)).flatMap((e) => p.read(e))), p.cap);
    let startTs = first.timestamp;
    let endTs = first.timestamp;
    for (const e of group) {
      if (e.timestamp < startTs) startTs = e.timestamp;
      if (e.timestamp > endTs) endTs = e.timestamp;
    }
    sessions.push(toSession({ teamId: first.teamId, sessionId: first.sessionId, startTs, endTs, values }, options));
  }
  return sessions.sort(compareSessions);
}
