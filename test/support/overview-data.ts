/**
 * Datasets for the web analytics overview: realistic generated traffic through the real
 * pipeline (generator → normalize → SessionBuffer → ClickHouseSessionSink → sessions view),
 * spread over several days so that date ranges and previous periods have data; and, for the
 * benchmark, many more sessions made cheaply by cloning that corpus with fresh ids.
 */
import { generate } from '@sessionizer/generator';
import { normalize, SessionBuffer, uuidV7Millis, type SessionEvent } from '@sessionizer/core';
import type { SessionSink } from '@sessionizer/clickhouse';

const DAY_MS = 86_400_000;

export interface GeneratedDaysOptions {
  readonly seed: number;
  /** Days of traffic ending on the day of `lastDayMs` (UTC). */
  readonly days: number;
  /** Generated messages per day (faults included). */
  readonly eventsPerDay: number;
  /** Any time on the last day with data. */
  readonly lastDayMs: number;
  readonly teams?: number;
  /** Events per flush: sessions spread over several partials, as the service writes them. */
  readonly flushEvery?: number;
}

export interface LoadStats {
  readonly accepted: number;
  readonly rejected: number;
  readonly partials: number;
}

/** One generator run per day (its own seed, a start hour that varies), written through the sink. */
export async function loadGeneratedDays(
  sink: SessionSink,
  o: GeneratedDaysOptions,
  onEvent?: (e: SessionEvent) => void,
): Promise<LoadStats> {
  const lastDay = Math.floor(o.lastDayMs / DAY_MS) * DAY_MS;
  const flushEvery = o.flushEvery ?? 2_000;
  let buffer = new SessionBuffer();
  let accepted = 0;
  let rejected = 0;
  let partials = 0;
  const flush = async (): Promise<void> => {
    const states = buffer.drain();
    buffer = new SessionBuffer();
    if (states.length > 0) partials += (await sink.write(states)).rows;
  };
  for (let d = o.days - 1; d >= 0; d -= 1) {
    const startMs = lastDay - d * DAY_MS + ((o.seed + d * 7) % 14) * 3_600_000;
    for (const m of generate({
      seed: o.seed * 1_000 + d,
      format: 'posthog-events',
      events: o.eventsPerDay,
      teams: o.teams ?? 3,
      startMs,
      rates: { outOfOrder: 0.05, duplicates: 0.02, invalid: 0.005, noSessionId: 0.01 },
    })) {
      const r = normalize('posthog-events', m.value, {});
      if (!r.ok) {
        rejected += 1;
        continue;
      }
      accepted += 1;
      onEvent?.(r.event);
      buffer.add(r.event);
      if (buffer.events >= flushEvery) await flush();
    }
    await flush();
  }
  return { accepted, rejected, partials };
}

/**
 * A UUID with the same version and variant, its 48-bit time moved by `shiftMs` and its last 48
 * random bits mixed with `copy`: distinct copies get distinct ids, and a session id stays a
 * UUIDv7 of its (shifted) session start.
 */
function cloneUuid(uuid: string, copy: number, shiftMs: number): string {
  const ms = uuidV7Millis(uuid) + shiftMs;
  const tail = (parseInt(uuid.slice(24), 16) + copy * 2_654_435_761) % 2 ** 48;
  const msHex = ms.toString(16).padStart(12, '0');
  return `${msHex.slice(0, 8)}-${msHex.slice(8)}-${uuid.slice(14, 24)}${tail.toString(16).padStart(12, '0')}`;
}

/** The events of one session, cloned as copy `copy` and moved in time by `shiftMs`. */
function cloneSession(events: readonly SessionEvent[], copy: number, shiftMs: number): SessionEvent[] {
  const shiftUs = shiftMs * 1_000;
  return events.map((e) => ({
    ...e,
    uuid: cloneUuid(e.uuid, copy, shiftMs),
    sessionId: cloneUuid(e.sessionId, copy, shiftMs),
    distinctId: `${e.distinctId}~${copy}`,
    timestamp: e.timestamp + shiftUs,
  }));
}

export interface ClonedOptions {
  /** Sessions to write in total. */
  readonly sessions: number;
  /** Days the copies spread over, ending on the day of `lastDayMs`. */
  readonly days: number;
  readonly lastDayMs: number;
  readonly seed: number;
  /** Distinct generated sessions to clone from. */
  readonly baseSessions?: number;
  readonly teams?: number;
  /** Sessions per sink write. */
  readonly batch?: number;
  readonly progress?: (written: number) => void;
}

/**
 * `sessions` sessions for a benchmark: a corpus of generated sessions (through normalize, so
 * every property the pipeline extracts is there) cloned with fresh session ids, event uuids and
 * distinct ids, each copy moved to a day of the range, and written through the sink.
 */
export async function loadClonedSessions(sink: SessionSink, o: ClonedOptions): Promise<{ sessions: number; partials: number }> {
  const base = new Map<string, SessionEvent[]>();
  const wanted = o.baseSessions ?? 20_000;
  const firstDay = Math.floor(o.lastDayMs / DAY_MS) * DAY_MS - (o.days - 1) * DAY_MS;
  for (const m of generate({ seed: o.seed, format: 'posthog-events', events: wanted * 12, teams: o.teams ?? 3, startMs: firstDay })) {
    const r = normalize('posthog-events', m.value, {});
    if (!r.ok) continue;
    const key = `${r.event.teamId}/${r.event.sessionId}`;
    const list = base.get(key);
    if (list !== undefined) list.push(r.event);
    else if (base.size < wanted) base.set(key, [r.event]);
  }
  const sessions = [...base.values()];
  const batch = o.batch ?? 50_000;
  let buffer = new SessionBuffer();
  let written = 0;
  let partials = 0;
  for (let i = 0; i < o.sessions; i += 1) {
    const copy = Math.floor(i / sessions.length);
    const events = sessions[i % sessions.length] ?? [];
    // spread copies over the days, and over the hours of a day, deterministically
    const mix = (i * 2_654_435_761) % 4_294_967_296;
    const shiftMs = (mix % o.days) * DAY_MS + (Math.floor(mix / o.days) % 24) * 3_600_000;
    for (const e of cloneSession(events, copy + 1, shiftMs)) buffer.add(e);
    if (buffer.size >= batch || i === o.sessions - 1) {
      partials += (await sink.write(buffer.drain())).rows;
      buffer = new SessionBuffer();
      written = i + 1;
      o.progress?.(written);
    }
  }
  return { sessions: written, partials };
}
