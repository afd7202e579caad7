/** Command-line flags → a checked configuration, or a UsageError that says what is wrong. */
import { parseArgs } from 'node:util';
import { DEFAULT_ACTIVE_SESSIONS, DEFAULT_TEAMS, type Format } from '@sessionizer/generator';
import { parseBrokers } from '@sessionizer/kafka';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: loadgen --format posthog-events|posthog-capture --events N [options]
            (--topic T --brokers host:port[,...] [--partitions P] | --out FILE|-)

Generates realistic PostHog traffic (deterministic for a seed) into a Kafka topic or an NDJSON
file, as fast as possible or at a steady rate. Prints a JSON summary on stdout when done
(on stderr with --out -).

Traffic:
  --format FORMAT          posthog-events (processed events) or posthog-capture (raw capture messages)
  --events N               messages to emit in total, faults included
  --seed S                 PRNG seed: the same seed gives the same bytes (default 1)
  --teams T                teams 1..T; capture tokens are phc_loadgen_team_<id> (default ${DEFAULT_TEAMS})
  --active-sessions A      sessions open at the same time, interleaved (default ${DEFAULT_ACTIVE_SESSIONS})
  --now                    start at the current time instead of 2026-11-20T10:00:00Z
                           (traffic runs at about A/17 events per second of event time: to
                           keep event time with the clock at --rate R, use --active-sessions
                           of about 17*R)

Faults (fractions of all messages, 0..1, default 0):
  --out-of-order R         emitted up to 50 positions late
  --duplicates R           an identical copy of a recent event
  --invalid R              malformed or truncated JSON, wrong types, missing uuid,
                           a UUIDv4 $session_id, an event 25 h after its session start
  --no-session-id R        a valid event without $session_id

Target (one of):
  --topic T                Kafka topic; messages keyed token:distinct_id, acks=all
  --brokers LIST           host:port[,host:port...] (default: $KAFKA_BROKERS)
  --partitions P           create the topic with P partitions if it does not exist
  --max-in-flight N        batches (1000 messages or 1 MiB) in flight at once (default 1,
                           which keeps each partition in generator order; kafkajs may
                           reorder concurrent sends)
  --out FILE|-             NDJSON, one message per line ('-' for stdout)

Pacing:
  --rate N                 messages per second, smoothly (default: as fast as possible)

  --help, -h               this help

Exit status: 0 done, 1 target failure (unreachable broker, missing topic, write error),
2 bad flags, 130 interrupted.`;

export interface Config {
  readonly format: Format;
  readonly events: number;
  readonly seed: number;
  readonly teams: number;
  readonly activeSessions: number;
  readonly now: boolean;
  readonly rates: { readonly outOfOrder: number; readonly duplicates: number; readonly invalid: number; readonly noSessionId: number };
  readonly target:
    | { readonly kind: 'kafka'; readonly topic: string; readonly brokers: string; readonly partitions: number | undefined }
    | { readonly kind: 'file'; readonly path: string };
  readonly rate: number | undefined;
  readonly maxInFlight: number;
}

export type Parsed = { readonly help: true } | { readonly help: false; readonly config: Config };

const OPTIONS = {
  format: { type: 'string' },
  events: { type: 'string' },
  seed: { type: 'string' },
  teams: { type: 'string' },
  'active-sessions': { type: 'string' },
  'out-of-order': { type: 'string' },
  duplicates: { type: 'string' },
  invalid: { type: 'string' },
  'no-session-id': { type: 'string' },
  topic: { type: 'string' },
  brokers: { type: 'string' },
  partitions: { type: 'string' },
  'max-in-flight': { type: 'string' },
  out: { type: 'string' },
  rate: { type: 'string' },
  now: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function integer(flag: string, text: string | undefined, min: number, fallback?: number): number {
  if (text === undefined) {
    if (fallback === undefined) throw new UsageError(`--${flag} is required`);
    return fallback;
  }
  const t = text.replaceAll('_', '');
  if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(Number(t)) || Number(t) < min) {
    throw new UsageError(`--${flag} must be an integer >= ${min}, got '${text}'`);
  }
  return Number(t);
}

function fraction(flag: string, text: string | undefined): number {
  if (text === undefined) return 0;
  const v = Number(text);
  if (text.trim() === '' || !(v >= 0 && v <= 1)) throw new UsageError(`--${flag} must be a fraction between 0 and 1, got '${text}'`);
  return v;
}

export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Parsed {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values['help'] === true) return { help: true };
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0] ?? ''}'`);
  const str = (k: string): string | undefined => values[k] as string | undefined;

  const format = str('format');
  if (format === undefined) throw new UsageError('--format is required (posthog-events or posthog-capture)');
  if (format !== 'posthog-events' && format !== 'posthog-capture') {
    throw new UsageError(`--format must be posthog-events or posthog-capture, got '${format}'`);
  }

  const rates = {
    outOfOrder: fraction('out-of-order', str('out-of-order')),
    duplicates: fraction('duplicates', str('duplicates')),
    invalid: fraction('invalid', str('invalid')),
    noSessionId: fraction('no-session-id', str('no-session-id')),
  };
  if (rates.duplicates + rates.invalid + rates.noSessionId >= 1) {
    throw new UsageError('--duplicates + --invalid + --no-session-id must be below 1');
  }

  const topic = str('topic');
  const out = str('out');
  let target: Config['target'];
  if (topic !== undefined && out !== undefined) throw new UsageError('give either --topic or --out, not both');
  if (topic !== undefined) {
    if (topic.trim() === '') throw new UsageError('--topic is empty');
    const brokers = str('brokers') ?? env['KAFKA_BROKERS'];
    if (brokers === undefined || brokers.trim() === '') throw new UsageError('--topic needs --brokers host:port[,...] (or KAFKA_BROKERS)');
    try {
      parseBrokers(brokers, str('brokers') === undefined ? 'KAFKA_BROKERS' : '--brokers');
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    const partitions = str('partitions') === undefined ? undefined : integer('partitions', str('partitions'), 1);
    target = { kind: 'kafka', topic, brokers, partitions };
  } else if (out !== undefined) {
    if (out === '') throw new UsageError('--out is empty (a file name, or - for stdout)');
    if (str('brokers') !== undefined || str('partitions') !== undefined || str('max-in-flight') !== undefined) {
      throw new UsageError('--brokers, --partitions and --max-in-flight go with --topic, not --out');
    }
    target = { kind: 'file', path: out };
  } else {
    throw new UsageError('give a target: --topic T --brokers host:port, or --out FILE (- for stdout)');
  }

  let rate: number | undefined;
  const rateText = str('rate');
  if (rateText !== undefined) {
    rate = Number(rateText);
    if (rateText.trim() === '' || !(Number.isFinite(rate) && rate > 0))
      throw new UsageError(`--rate must be a positive number of events per second, got '${rateText}'`);
  }

  return {
    help: false,
    config: {
      format,
      events: integer('events', str('events'), 0),
      seed: integer('seed', str('seed'), Number.MIN_SAFE_INTEGER, 1),
      teams: integer('teams', str('teams'), 1, DEFAULT_TEAMS),
      activeSessions: integer('active-sessions', str('active-sessions'), 1, DEFAULT_ACTIVE_SESSIONS),
      now: values['now'] === true,
      rates,
      target,
      rate,
      maxInFlight: integer('max-in-flight', str('max-in-flight'), 1, 1),
    },
  };
}
