/**
 * generate(): a deterministic stream of PostHog messages from a seed. Sessions run concurrently
 * (`activeSessions` at a time) and their events come out in event-time order, interleaved;
 * then faults are mixed in by rate, and some messages are held back (out of order).
 */
import { FAULT_REASONS, malformed, missingUuid, serialize, truncated, wrongType, type Format, type InvalidFault } from './formats.js';
import { MinHeap } from './heap.js';
import { uuidV4 } from './ids.js';
import { MICROS_PER_MS, World, type Session, type SimEvent } from './model.js';
import { Rng } from './random.js';

export interface GeneratorOptions {
  readonly seed: number;
  readonly format: Format;
  /** Total messages to emit, faults included. */
  readonly events: number;
  /** Number of teams (ids 1..n), default 3. Capture tokens are `phc_loadgen_team_<id>`. */
  readonly teams?: number;
  /** Sessions open at the same time, default 200: their events interleave. */
  readonly activeSessions?: number;
  /** Wall time of the first event, ms since the epoch (default 2026-11-20T10:00:00Z). */
  readonly startMs?: number;
  /** Fractions of the emitted messages, each in [0, 1], default 0. */
  readonly rates?: {
    readonly outOfOrder?: number;
    readonly duplicates?: number;
    readonly invalid?: number;
    readonly noSessionId?: number;
  };
}

export type MessageKind = 'event' | 'duplicate' | 'invalid' | 'no_session_id';

export const MESSAGE_KINDS: readonly MessageKind[] = ['event', 'duplicate', 'invalid', 'no_session_id'];

export interface GeneratedMessage {
  /** `token:distinct_id`, like PostHog capture's partition key. */
  readonly key: string;
  /** The message, JSON in the chosen format. */
  readonly value: string;
  readonly kind: MessageKind;
  /** Canonical session id, for kinds 'event' and 'duplicate'; null otherwise. */
  readonly sessionId: string | null;
  readonly teamId: number;
  /**
   * The event time the sessionizer should derive, µs since the epoch (for posthog-capture:
   * after PostHog's clock-skew correction). For 'invalid' messages, that of the event it was
   * made from.
   */
  readonly timestamp: number;
  /** For kind 'invalid': what is wrong with it (FAULT_REASONS gives the rejection reason). */
  readonly fault?: InvalidFault;
}

export const DEFAULT_START_MS = Date.UTC(2026, 10, 20, 10, 0, 0);
export const DEFAULT_TEAMS = 3;
export const DEFAULT_ACTIVE_SESSIONS = 200;
/** Out-of-order messages are emitted up to this many positions late. */
export const OUT_OF_ORDER_WINDOW = 50;
/** Duplicates repeat one of this many most recent events. */
const DUPLICATE_WINDOW = 16;
/** The initial sessions start over this span, not all at once. */
const RAMP_MS = 120_000;
const HOUR_US = 3_600_000_000;

const FAULT_WEIGHTS: readonly (readonly [InvalidFault, number])[] = [
  ['malformed_json', 20],
  ['truncated_json', 15],
  ['wrong_type', 20],
  ['missing_uuid', 15],
  ['session_id_v4', 15],
  ['session_expired', 15],
];

interface Resolved {
  readonly seed: number;
  readonly format: Format;
  readonly events: number;
  readonly teams: number;
  readonly activeSessions: number;
  readonly startMs: number;
  readonly outOfOrder: number;
  readonly duplicates: number;
  readonly invalid: number;
  readonly noSessionId: number;
}

function resolve(o: GeneratorOptions): Resolved {
  const int = (name: string, v: number, min: number): number => {
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
    return v;
  };
  const rate = (name: string, v: number | undefined): number => {
    const r = v ?? 0;
    if (!(r >= 0 && r <= 1)) throw new RangeError(`${name} must be a fraction in [0, 1], got ${r}`);
    return r;
  };
  if (!Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${o.seed}`);
  const format: string = o.format;
  if (format !== 'posthog-events' && format !== 'posthog-capture')
    throw new RangeError(`format must be posthog-events or posthog-capture, got ${format}`);
  const startMs = o.startMs ?? DEFAULT_START_MS;
  if (!Number.isSafeInteger(startMs) || startMs < 0) throw new RangeError(`startMs must be a non-negative integer, got ${startMs}`);
  const r: Resolved = {
    seed: o.seed,
    format: o.format,
    events: int('events', o.events, 0),
    teams: int('teams', o.teams ?? DEFAULT_TEAMS, 1),
    activeSessions: int('activeSessions', o.activeSessions ?? DEFAULT_ACTIVE_SESSIONS, 1),
    startMs,
    outOfOrder: rate('rates.outOfOrder', o.rates?.outOfOrder),
    duplicates: rate('rates.duplicates', o.rates?.duplicates),
    invalid: rate('rates.invalid', o.rates?.invalid),
    noSessionId: rate('rates.noSessionId', o.rates?.noSessionId),
  };
  if (r.duplicates + r.invalid + r.noSessionId >= 1) {
    throw new RangeError('rates.duplicates + rates.invalid + rates.noSessionId must be below 1 (some messages must be events)');
  }
  return r;
}

function keyOf(e: SimEvent): string {
  return `${e.team.token}:${e.distinctId}`;
}

/** The stream before reordering: sessions interleaved in event-time order, faults mixed in. */
function* inOrder(o: Resolved): Generator<GeneratedMessage> {
  const rng = new Rng(o.seed);
  // Separate streams, so a fault rate changes which messages are faults, not the sessions.
  const faults = new Rng(o.seed ^ 0x2545f491);
  const world = new World(rng, o.teams);
  const heap = new MinHeap<Session>();
  let seq = 0;
  for (let i = 0; i < o.activeSessions; i++) {
    const start = i === 0 ? o.startMs : o.startMs + Math.floor(rng.float(0, RAMP_MS));
    const s = world.newSession(seq++, start);
    heap.push(s.nextUs, s);
  }
  let clockUs = o.startMs * MICROS_PER_MS;
  const recent: GeneratedMessage[] = [];
  const dupCut = o.duplicates;
  const invalidCut = dupCut + o.invalid;
  const noSessionCut = invalidCut + o.noSessionId;

  const randomSession = (): Session => {
    const s = heap.at(faults.int(0, heap.size - 1));
    if (s === undefined) throw new Error('no active session');
    return s;
  };

  for (let n = 0; n < o.events; n++) {
    const u = faults.next();
    if (u < dupCut && recent.length > 0) {
      const original = recent[recent.length - 1 - faults.int(0, recent.length - 1)];
      if (original !== undefined) {
        yield { ...original, kind: 'duplicate' };
        continue;
      }
    }
    if (u >= dupCut && u < invalidCut) {
      const s = randomSession();
      yield invalidMessage(o.format, world, s, Math.max(clockUs, s.startMs * MICROS_PER_MS), faults, rng);
      continue;
    }
    if (u >= invalidCut && u < noSessionCut) {
      const s = randomSession();
      const t = Math.max(clockUs, s.startMs * MICROS_PER_MS);
      let e: SimEvent;
      if (faults.chance(0.7)) {
        e = world.serverEvent(s, t);
      } else {
        // A client event with session tracking off.
        const side = world.sideEvent(s, t);
        const properties = { ...side.properties };
        delete properties['$session_id'];
        e = { ...side, properties, sessionId: null };
      }
      yield {
        key: keyOf(e),
        value: serialize(o.format, e),
        kind: 'no_session_id',
        sessionId: null,
        teamId: e.team.id,
        timestamp: e.timeUs,
      };
      continue;
    }

    const s = heap.pop();
    if (s === undefined) throw new Error('no active session');
    const e = world.step(s);
    clockUs = e.timeUs;
    if (s.index < s.planned) {
      heap.push(s.nextUs, s);
    } else {
      const next = world.newSession(seq++, Math.floor(clockUs / MICROS_PER_MS) + Math.floor(rng.exponential(3_000)));
      heap.push(next.nextUs, next);
    }
    const m: GeneratedMessage = {
      key: keyOf(e),
      value: serialize(o.format, e),
      kind: 'event',
      sessionId: s.sessionId,
      teamId: e.team.id,
      timestamp: e.timeUs,
    };
    recent.push(m);
    if (recent.length > DUPLICATE_WINDOW) recent.shift();
    yield m;
  }
}

function invalidMessage(format: Format, world: World, s: Session, timeUs: number, faults: Rng, rng: Rng): GeneratedMessage {
  const fault = faults.weighted(FAULT_WEIGHTS);
  let e = world.sideEvent(s, timeUs);
  let value: string;
  switch (fault) {
    case 'malformed_json':
      value = malformed(serialize(format, e), rng);
      break;
    case 'truncated_json':
      value = truncated(serialize(format, e), rng);
      break;
    case 'wrong_type':
      value = wrongType(format, e, rng);
      break;
    case 'missing_uuid':
      value = missingUuid(format, e);
      break;
    case 'session_id_v4':
      e = { ...e, properties: { ...e.properties, $session_id: uuidV4(rng) } };
      value = serialize(format, e);
      break;
    case 'session_expired':
      // A straggler delivered 25 h after its session started (an app offline for a day).
      e = world.sideEvent(s, s.startMs * MICROS_PER_MS + 25 * HOUR_US + rng.int(0, HOUR_US));
      value = serialize(format, e);
      break;
  }
  return { key: keyOf(e), value, kind: 'invalid', sessionId: null, teamId: e.team.id, timestamp: e.timeUs, fault };
}

/** Hold some items back: each is emitted 1..window positions later than its place. */
export function* reorder<T>(source: Iterable<T>, rate: number, window: number, rng: Rng): Generator<T> {
  if (rate <= 0) {
    yield* source;
    return;
  }
  const held: { release: number; seq: number; item: T }[] = [];
  let emitted = 0;
  let seq = 0;
  const it = source[Symbol.iterator]();
  for (;;) {
    const due = held[0];
    if (due !== undefined && due.release <= emitted) {
      held.shift();
      emitted++;
      yield due.item;
      continue;
    }
    const next = it.next();
    if (next.done === true) break;
    if (rng.next() < rate) {
      const entry = { release: emitted + rng.int(1, window), seq: seq++, item: next.value };
      let i = held.length;
      while (i > 0 && (held[i - 1]?.release ?? 0) > entry.release) i--;
      held.splice(i, 0, entry);
      continue;
    }
    emitted++;
    yield next.value;
  }
  for (const h of held) yield h.item;
}

/**
 * The messages of the given options, in emission order. Same options, same bytes. Options are
 * checked at the call (a RangeError), not at the first next().
 */
export function generate(options: GeneratorOptions): Generator<GeneratedMessage> {
  const o = resolve(options);
  return reorder(inOrder(o), o.outOfOrder, OUT_OF_ORDER_WINDOW, new Rng(o.seed ^ 0x6a09e667));
}

export { FAULT_REASONS };
