/**
 * The reference oracle: the expected sessions of a list of events, computed the plain way —
 * group, sort, pick — with no partial states and no merge. Every streaming test compares
 * ClickHouse's `sessions` with this. It deliberately shares nothing with session.ts's merge
 * except the definitions of entry/exit candidates (which fields an event contributes).
 */
import { isPageLike, type SessionEvent } from './event.js';
import { compareSessions, toSession, type DeriveOptions, type Session } from './derive.js';
import { entryOf, exitOf, sessionKey } from './session.js';

const byTimeThenUuid = (a: SessionEvent, b: SessionEvent): number =>
  a.timestamp - b.timestamp || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);

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
    const sorted = [...group].sort(byTimeThenUuid);
    const first = sorted[0];
    const last = sorted[sorted.length - 1];
    if (first === undefined || last === undefined) continue;
    const pages = sorted.filter((e) => isPageLike(e.event));
    const entryEvent = pages[0] ?? first;
    const exitEvent = pages[pages.length - 1] ?? last;
    const distinct = (name: string): number => new Set(group.filter((e) => e.event === name).map((e) => e.uuid)).size;
    sessions.push(
      toSession(
        {
          teamId: first.teamId,
          sessionId: first.sessionId,
          distinctId: last.distinctId,
          startTs: first.timestamp,
          endTs: last.timestamp,
          entry: entryOf(entryEvent),
          exit: exitOf(exitEvent),
          pageviews: distinct('$pageview'),
          autocaptures: distinct('$autocapture'),
          screens: distinct('$screen'),
        },
        options,
      ),
    );
  }
  return sessions.sort(compareSessions);
}
