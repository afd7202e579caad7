/**
 * Configuration, parsed once. Every setting has an environment variable and a flag; a flag wins
 * over the environment, which wins over the default. The result is a frozen, typed object.
 * Errors name the key as the user wrote it (the flag or the variable) and the allowed values.
 * Unknown flags are rejected by the CLI parser; unknown SESSIONIZER_* variables are rejected here.
 * Nothing reads process.env anywhere else.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  CHANNEL_RULE_COLUMNS,
  DEFAULT_LIMITS,
  DEFAULT_SESSION_ID_CLIENT_TOLERANCE_MS,
  DEFAULT_SERVER_SESSION_IDLE_MS,
  DEFAULT_SESSION_ID_TOLERANCE_MS,
  INPUT_FORMATS,
  parseChannelRulesJson,
  type ChannelRules,
  type InputFormat,
} from '@sessionizer/core';

export interface TopicSpec {
  readonly topic: string;
  readonly format: InputFormat;
}

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface Config {
  readonly clickhouse: {
    readonly url: string | undefined;
    readonly user: string;
    readonly password: string;
    readonly database: string;
    readonly cluster: string | undefined;
    readonly dataDir: string;
    /** `run`: the longest sleep between retries of a failed write (backoff with full jitter). */
    readonly retryMaxDelayMs: number;
  };
  readonly session: {
    readonly bounceThresholdSeconds: number;
    /** Per-team overrides of bounceThresholdSeconds. */
    readonly bounceThresholdSecondsByTeam: ReadonlyMap<number, number>;
    readonly sessionIdToleranceMs: number;
    readonly sessionIdClientToleranceMs: number;
    readonly maxMessageBytes: number;
    readonly tokenTeams: ReadonlyMap<string, number>;
    /** Custom channel rules per team_id: CHANNEL_RULES_FILE names the file, read and validated at load. */
    readonly channelRules: ChannelRules | undefined;
    /** SERVER_SESSIONS: which teams' events without $session_id get server-side sessions. */
    readonly serverSessions: ServerSessionsSetting;
    readonly serverSessionIdleMs: number;
  };
  readonly kafka: {
    readonly brokers: string | undefined;
    readonly topics: readonly TopicSpec[];
    readonly groupId: string;
    readonly clientId: string;
    readonly dlqTopic: string | undefined;
    readonly dlqExcluded: boolean;
    readonly fromBeginning: boolean;
    readonly sasl: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string } | undefined;
    readonly ssl: boolean;
    readonly sslCaFile: string | undefined;
    readonly sslRejectUnauthorized: boolean;
    readonly sessionTimeoutMs: number;
    readonly heartbeatIntervalMs: number;
    readonly rebalanceTimeoutMs: number;
  };
  readonly flush: {
    readonly intervalMs: number;
    readonly maxSessions: number;
    readonly maxBytes: number;
    /** FLUSH_GC_OLD_SPACE_MIB: a full GC after a flush above this much old space, MiB (0: never; service/heap-gc.ts). */
    readonly gcOldSpaceMib: number;
  };
  /** /readyz: the longest time without a successful exchange with the brokers. */
  readonly ready: { readonly kafkaSilenceMs: number };
  /** The HTTP endpoint of /metrics, /healthz, /readyz (and the overview). */
  readonly metrics: { readonly port: number; readonly host: string };
  readonly log: { readonly level: LogLevel };
  readonly shutdownTimeoutMs: number;
}

/** `off`, `all`, or the team ids (sorted, distinct). */
export type ServerSessionsSetting = 'off' | 'all' | readonly number[];

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const nonEmpty = z.string().trim().min(1, 'must not be empty');
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an identifier (letters, digits, underscore)');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().min(min, `must be >= ${min}`).max(max, `must be <= ${max}`));
const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const topicName = /^[A-Za-z0-9._-]{1,249}$/;

const topics = z.string().transform((value, ctx): TopicSpec[] => {
  const out: TopicSpec[] = [];
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [topic = '', format = 'posthog-events', ...rest] = part.split(':');
    if (!topicName.test(topic) || rest.length > 0) {
      ctx.addIssue({ code: 'custom', message: `'${part}' is not topic[:format] with a valid topic name` });
      continue;
    }
    if (!(INPUT_FORMATS as readonly string[]).includes(format)) {
      ctx.addIssue({ code: 'custom', message: `format '${format}' of topic '${topic}' is not one of ${INPUT_FORMATS.join(', ')}` });
      continue;
    }
    out.push({ topic, format: format as InputFormat });
  }
  if (out.length === 0 && ctx.issues.length === 0) ctx.addIssue({ code: 'custom', message: 'names no topic' });
  return out;
});

const tokenTeams = z.string().transform((value, ctx): ReadonlyMap<string, number> => {
  const map = new Map<string, number>();
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([^=\s]+)=([1-9]\d{0,15})$/.exec(part);
    if (m?.[1] === undefined || m[2] === undefined || !Number.isSafeInteger(Number(m[2]))) {
      ctx.addIssue({ code: 'custom', message: `'${part}' is not token=team_id` });
      continue;
    }
    map.set(m[1], Number(m[2]));
  }
  return map;
});

/** `team_id=seconds[,…]`: per-team bounce thresholds (PostHog's bounceRateDurationSeconds). */
const bounceThresholdSecondsByTeam = z.string().transform((value, ctx): ReadonlyMap<number, number> => {
  const map = new Map<number, number>();
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([1-9]\d{0,15})=(\d{1,5})$/.exec(part);
    const team = Number(m?.[1]);
    const seconds = Number(m?.[2]);
    if (m === null || !Number.isSafeInteger(team) || seconds > 86_400) {
      ctx.addIssue({ code: 'custom', message: `'${part}' is not team_id=seconds (seconds 0–86400)` });
      continue;
    }
    if (map.has(team)) ctx.addIssue({ code: 'custom', message: `team ${team} is given twice` });
    map.set(team, seconds);
  }
  return map;
});

/** Which commands take a setting: `sessionizer <command> --help` lists a command's groups. */
export type SettingGroup = 'clickhouse' | 'model' | 'flush' | 'kafka' | 'service';

const serverSessions = z.string().transform((value, ctx): ServerSessionsSetting => {
  const v = value.trim().toLowerCase();
  if (v === 'off' || v === '') return 'off';
  if (v === 'all') return 'all';
  const teams = new Set<number>();
  for (const part of v.split(',').map((p) => p.trim())) {
    if (!/^[1-9]\d{0,15}$/.test(part) || !Number.isSafeInteger(Number(part))) {
      ctx.addIssue({ code: 'custom', message: `'${part}' is not a team id (off, all, or team ids separated by commas)` });
      continue;
    }
    teams.add(Number(part));
  }
  return [...teams].sort((a, b) => a - b);
});

/** Config's fields as dotted paths (`kafka.groupId`): where a setting's value goes. */
type PathsOf<T> = {
  [K in keyof T & string]: Exclude<T[K], undefined> extends ConfigLeaf ? K : `${K}.${PathsOf<Exclude<T[K], undefined>>}`;
}[keyof T & string];
type ConfigLeaf = string | number | boolean | ReadonlyMap<unknown, unknown> | readonly unknown[];
export type ConfigPath = PathsOf<Config>;

interface Setting {
  /** The field of Config this setting's value becomes; its name is the setting's name (config.test.ts holds both). */
  readonly target: ConfigPath;
  readonly env: string;
  readonly flag: string;
  readonly group: SettingGroup;
  readonly schema: z.ZodType<unknown, string>;
  /** As a user would write it; parsed by `schema` like any value, so it is applied in one place. */
  readonly default?: string;
  readonly help: string;
  /** Not echoed in error messages. */
  readonly secret?: boolean;
}

/** Every setting; the CLI's --help and the README list them from here. */
export const SETTINGS = {
  clickhouseUrl: {
    target: 'clickhouse.url',
    group: 'clickhouse',
    env: 'CLICKHOUSE_URL',
    flag: 'clickhouse',
    schema: z.url({ protocol: /^https?$/ }),
    help: 'ClickHouse server URL (http/https); without it the embedded engine is used',
  },
  clickhouseUser: {
    target: 'clickhouse.user',
    group: 'clickhouse',
    env: 'CLICKHOUSE_USER',
    flag: 'clickhouse-user',
    schema: nonEmpty,
    default: 'default',
    help: 'ClickHouse user',
  },
  clickhousePassword: {
    target: 'clickhouse.password',
    group: 'clickhouse',
    env: 'CLICKHOUSE_PASSWORD',
    flag: 'clickhouse-password',
    schema: z.string(),
    default: '',
    help: 'ClickHouse password',
    secret: true,
  },
  database: {
    target: 'clickhouse.database',
    group: 'clickhouse',
    env: 'CLICKHOUSE_DATABASE',
    flag: 'database',
    schema: identifier,
    default: 'sessionizer',
    help: 'ClickHouse database',
  },
  dataDir: {
    target: 'clickhouse.dataDir',
    group: 'clickhouse',
    env: 'SESSIONIZER_DATA_DIR',
    flag: 'data-dir',
    schema: nonEmpty,
    default: './.sessionizer',
    help: 'data directory of the embedded ClickHouse engine (one process at a time)',
  },
  cluster: {
    target: 'clickhouse.cluster',
    group: 'clickhouse',
    env: 'CLICKHOUSE_CLUSTER',
    flag: 'cluster',
    schema: identifier,
    help: 'ClickHouse cluster name: migrations ON CLUSTER, Replicated engines, Distributed tables',
  },
  logLevel: {
    target: 'log.level',
    group: 'clickhouse',
    env: 'LOG_LEVEL',
    flag: 'log-level',
    schema: z.enum(LOG_LEVELS),
    default: 'info',
    help: `log level: ${LOG_LEVELS.join(', ')}`,
  },
  bounceThresholdSeconds: {
    target: 'session.bounceThresholdSeconds',
    group: 'model',
    env: 'BOUNCE_THRESHOLD_SECONDS',
    flag: 'bounce-threshold',
    schema: int(0, 86_400),
    default: '10',
    help: 'a one-page session shorter than this many seconds is a bounce',
  },
  bounceThresholdSecondsByTeam: {
    target: 'session.bounceThresholdSecondsByTeam',
    group: 'model',
    env: 'BOUNCE_THRESHOLD_SECONDS_BY_TEAM',
    flag: 'bounce-threshold-by-team',
    schema: bounceThresholdSecondsByTeam,
    default: '',
    help: 'team_id=seconds[,…]: bounce thresholds of single teams (the others use BOUNCE_THRESHOLD_SECONDS)',
  },
  channelRulesFile: {
    target: 'session.channelRules',
    group: 'model',
    env: 'CHANNEL_RULES_FILE',
    flag: 'channel-rules-file',
    schema: nonEmpty,
    help: 'JSON file of custom channel rules per team: {"<team_id>": [rule, …]} (docs/sessions.md)',
  },
  sessionIdToleranceMs: {
    target: 'session.sessionIdToleranceMs',
    group: 'model',
    env: 'SESSION_ID_TOLERANCE_MS',
    flag: 'session-id-tolerance-ms',
    schema: int(0, 86_400_000),
    default: String(DEFAULT_SESSION_ID_TOLERANCE_MS),
    help: 'how far an event on the server clock (posthog-events; capture without a client timestamp) may precede its $session_id time',
  },
  sessionIdClientToleranceMs: {
    target: 'session.sessionIdClientToleranceMs',
    group: 'model',
    env: 'SESSION_ID_CLIENT_TOLERANCE_MS',
    flag: 'session-id-client-tolerance-ms',
    schema: int(0, 86_400_000),
    default: String(DEFAULT_SESSION_ID_CLIENT_TOLERANCE_MS),
    help: "posthog-capture: how far an event's own timestamp (the client's clock) may precede its $session_id time",
  },
  maxMessageBytes: {
    target: 'session.maxMessageBytes',
    group: 'model',
    env: 'MAX_MESSAGE_BYTES',
    flag: 'max-message-bytes',
    schema: int(1_024, 1_073_741_824),
    default: String(DEFAULT_LIMITS.maxMessageBytes),
    help: 'larger messages are rejected as event_too_large',
  },
  tokenTeams: {
    target: 'session.tokenTeams',
    group: 'model',
    env: 'SESSIONIZER_TOKEN_TEAMS',
    flag: 'token-teams',
    schema: tokenTeams,
    default: '',
    help: 'posthog-capture: token=team_id[,…] for messages without team_id',
  },
  serverSessions: {
    target: 'session.serverSessions',
    group: 'model',
    env: 'SERVER_SESSIONS',
    flag: 'server-sessions',
    schema: serverSessions,
    default: 'off',
    help: 'server-side sessions for events without $session_id: off, all, or team ids separated by commas (docs/sessions.md)',
  },
  serverSessionIdleMs: {
    target: 'session.serverSessionIdleMs',
    group: 'model',
    env: 'SERVER_SESSION_IDLE_MS',
    flag: 'server-session-idle-ms',
    schema: int(1_000, 86_400_000),
    default: String(DEFAULT_SERVER_SESSION_IDLE_MS),
    help: 'server-side sessions: a new session after this long without an event of the distinct_id',
  },
  flushIntervalMs: {
    target: 'flush.intervalMs',
    group: 'flush',
    env: 'FLUSH_INTERVAL_MS',
    flag: 'flush-interval-ms',
    schema: int(10, 3_600_000),
    default: '5000',
    help: 'flush buffered sessions at least this often',
  },
  flushMaxSessions: {
    target: 'flush.maxSessions',
    group: 'flush',
    env: 'FLUSH_MAX_SESSIONS',
    flag: 'flush-max-sessions',
    schema: int(1),
    default: '100000',
    help: 'flush when this many sessions are buffered',
  },
  flushMaxBytes: {
    target: 'flush.maxBytes',
    group: 'flush',
    env: 'FLUSH_MAX_BYTES',
    flag: 'flush-max-bytes',
    schema: int(1_024),
    default: String(128 * 1024 * 1024),
    help: 'flush when buffered state reaches this many bytes',
  },
  flushGcOldSpaceMib: {
    target: 'flush.gcOldSpaceMib',
    group: 'flush',
    env: 'FLUSH_GC_OLD_SPACE_MIB',
    flag: 'flush-gc-old-space-mib',
    schema: int(0, 1_048_576),
    default: '128',
    help: "after a flush, a full GC when V8's old space holds more MiB than this and 1.5x what the previous one left (0: never)",
  },
  brokers: {
    target: 'kafka.brokers',
    group: 'kafka',
    env: 'KAFKA_BROKERS',
    flag: 'brokers',
    schema: nonEmpty,
    help: 'Kafka bootstrap brokers host:port[,…]',
  },
  topics: {
    target: 'kafka.topics',
    group: 'kafka',
    env: 'KAFKA_TOPICS',
    flag: 'topics',
    schema: topics,
    default: 'events',
    help: 'topics to consume: topic[:format][,…], format posthog-events (default) or posthog-capture',
  },
  groupId: {
    target: 'kafka.groupId',
    group: 'kafka',
    env: 'KAFKA_GROUP_ID',
    flag: 'group-id',
    schema: nonEmpty,
    default: 'sessionizer',
    help: 'Kafka consumer group',
  },
  clientId: {
    target: 'kafka.clientId',
    group: 'kafka',
    env: 'KAFKA_CLIENT_ID',
    flag: 'client-id',
    schema: nonEmpty,
    default: 'sessionizer',
    help: 'Kafka client id',
  },
  dlqTopic: {
    target: 'kafka.dlqTopic',
    group: 'kafka',
    env: 'KAFKA_DLQ_TOPIC',
    flag: 'dlq-topic',
    schema: z.string().regex(topicName, 'must be a valid topic name'),
    help: 'dead-letter topic for invalid messages (unset: counted and logged only)',
  },
  dlqExcluded: {
    target: 'kafka.dlqExcluded',
    group: 'kafka',
    env: 'KAFKA_DLQ_EXCLUDED',
    flag: 'dlq-excluded',
    schema: bool,
    default: 'false',
    help: 'also dead-letter events excluded by a session rule (e.g. no $session_id)',
  },
  fromBeginning: {
    target: 'kafka.fromBeginning',
    group: 'kafka',
    env: 'KAFKA_FROM_BEGINNING',
    flag: 'from-beginning',
    schema: bool,
    default: 'true',
    help: 'a new consumer group starts at the earliest offset (false: latest)',
  },
  saslMechanism: {
    target: 'kafka.sasl.mechanism',
    group: 'kafka',
    env: 'KAFKA_SASL_MECHANISM',
    flag: 'sasl-mechanism',
    schema: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    help: 'Kafka SASL mechanism: plain, scram-sha-256 or scram-sha-512',
  },
  saslUsername: {
    target: 'kafka.sasl.username',
    group: 'kafka',
    env: 'KAFKA_SASL_USERNAME',
    flag: 'sasl-username',
    schema: nonEmpty,
    help: 'Kafka SASL user',
  },
  saslPassword: {
    target: 'kafka.sasl.password',
    group: 'kafka',
    env: 'KAFKA_SASL_PASSWORD',
    flag: 'sasl-password',
    schema: z.string(),
    help: 'Kafka SASL password',
    secret: true,
  },
  ssl: {
    target: 'kafka.ssl',
    group: 'kafka',
    env: 'KAFKA_SSL',
    flag: 'ssl',
    schema: bool,
    default: 'false',
    help: 'connect to Kafka over TLS',
  },
  sslCaFile: {
    target: 'kafka.sslCaFile',
    group: 'kafka',
    env: 'KAFKA_SSL_CA_FILE',
    flag: 'ssl-ca-file',
    schema: nonEmpty,
    help: 'PEM file of CA certificates for Kafka TLS',
  },
  sslRejectUnauthorized: {
    target: 'kafka.sslRejectUnauthorized',
    group: 'kafka',
    env: 'KAFKA_SSL_REJECT_UNAUTHORIZED',
    flag: 'ssl-reject-unauthorized',
    schema: bool,
    default: 'true',
    help: 'verify the Kafka broker certificate',
  },
  sessionTimeoutMs: {
    target: 'kafka.sessionTimeoutMs',
    group: 'kafka',
    env: 'KAFKA_SESSION_TIMEOUT_MS',
    flag: 'session-timeout-ms',
    schema: int(1_000, 3_600_000),
    default: '30000',
    help: "consumer group session timeout: a member silent this long is removed (within the broker's group.min/max.session.timeout.ms)",
  },
  heartbeatIntervalMs: {
    target: 'kafka.heartbeatIntervalMs',
    group: 'kafka',
    env: 'KAFKA_HEARTBEAT_INTERVAL_MS',
    flag: 'heartbeat-interval-ms',
    schema: int(100, 3_600_000),
    default: '3000',
    help: 'consumer heartbeat interval; must be below the session timeout (a third of it or less is usual)',
  },
  rebalanceTimeoutMs: {
    target: 'kafka.rebalanceTimeoutMs',
    group: 'kafka',
    env: 'KAFKA_REBALANCE_TIMEOUT_MS',
    flag: 'rebalance-timeout-ms',
    schema: int(1_000, 3_600_000),
    default: '60000',
    help: 'how long the coordinator waits for every member to rejoin during a rebalance',
  },
  readyKafkaSilenceMs: {
    target: 'ready.kafkaSilenceMs',
    group: 'kafka',
    env: 'READY_KAFKA_SILENCE_MS',
    flag: 'ready-kafka-silence-ms',
    schema: int(1_000, 3_600_000),
    default: '15000',
    help: '/readyz turns 503 when no fetch, heartbeat, join or commit has succeeded for this long',
  },
  clickhouseRetryMaxDelayMs: {
    target: 'clickhouse.retryMaxDelayMs',
    group: 'service',
    env: 'CLICKHOUSE_RETRY_MAX_DELAY_MS',
    flag: 'clickhouse-retry-max-delay-ms',
    schema: int(100, 600_000),
    default: '5000',
    help: 'longest wait between retries of a failed ClickHouse or dead-letter write (exponential backoff from 200 ms, full jitter); after an outage, writing resumes within about this long',
  },
  metricsPort: {
    target: 'metrics.port',
    group: 'service',
    env: 'METRICS_PORT',
    flag: 'metrics-port',
    schema: int(0, 65_535),
    default: '9464',
    help: 'port of /metrics, /healthz, /readyz (0: any free port)',
  },
  metricsHost: {
    target: 'metrics.host',
    group: 'service',
    env: 'METRICS_HOST',
    flag: 'metrics-host',
    schema: nonEmpty,
    default: '0.0.0.0',
    help: 'address the HTTP endpoint binds',
  },
  shutdownTimeoutMs: {
    target: 'shutdownTimeoutMs',
    group: 'service',
    env: 'SHUTDOWN_TIMEOUT_MS',
    flag: 'shutdown-timeout-ms',
    schema: int(1_000, 600_000),
    default: '30000',
    help: 'on SIGTERM: stop fetching, flush, commit within this time',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;
export type Flags = Readonly<Record<string, string | boolean | undefined>>;
export type Env = Readonly<Record<string, string | undefined>>;

const KNOWN_ENV = new Set<string>(Object.values(SETTINGS).map((s) => s.env));

/** The names of the settings in these groups, group by group, in table order. */
export function settingsIn(...groups: readonly SettingGroup[]): SettingName[] {
  const names = Object.keys(SETTINGS) as SettingName[];
  return groups.flatMap((g) => names.filter((n) => SETTINGS[n].group === g));
}

type Value<N extends SettingName> = z.output<(typeof SETTINGS)[N]['schema']>;
/** A setting with a default always has a value; one without may be unset. */
type Read<N extends SettingName> = (typeof SETTINGS)[N] extends { readonly default: string } ? Value<N> : Value<N> | undefined;

function read<N extends SettingName>(name: N, flags: Flags, env: Env): Read<N> {
  const s: Setting = SETTINGS[name];
  const flag = flags[s.flag];
  const fromFlag = typeof flag === 'boolean' ? String(flag) : flag;
  const raw = fromFlag ?? env[s.env] ?? s.default;
  if (raw === undefined) return undefined as Read<N>;
  const source = fromFlag !== undefined ? `--${s.flag}` : env[s.env] !== undefined ? s.env : `default of ${s.env}`;
  const result = s.schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]?.message ?? 'invalid';
    const echo = redactCredentials(raw);
    const shown = 'secret' in s && s.secret === true ? '' : `='${echo.length > 80 ? `${echo.slice(0, 80)}…` : echo}'`;
    throw new ConfigError(`${source}${shown}: ${issue}`);
  }
  return result.data as Read<N>;
}

/** A value as it may be echoed: credentials in a URL (`//user:password@`, `password=`) hidden. */
export function redactCredentials(value: string): string {
  return value.replace(/\/\/[^/\s]*@/g, '//***@').replace(/(password=)[^&\s]*/gi, '$1***');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !(value instanceof Map) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** How many of a rules file's problems an error message lists. */
const SHOWN_RULE_PROBLEMS = 20;

/** Read and validate CHANNEL_RULES_FILE; every problem is named with where it is. */
function loadChannelRules(path: string, source: string, readText: (path: string) => string): ChannelRules {
  let text: string;
  try {
    text = readText(path);
  } catch (error) {
    throw new ConfigError(`${source} '${path}': cannot be read (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = parseChannelRulesJson(text, CHANNEL_RULE_COLUMNS);
  if (parsed.ok) return parsed.rules;
  const shown = parsed.errors.slice(0, SHOWN_RULE_PROBLEMS);
  const more = parsed.errors.length > shown.length ? `\n  … and ${parsed.errors.length - shown.length} more` : '';
  const count = parsed.errors.length === 1 ? '1 problem' : `${parsed.errors.length} problems`;
  throw new ConfigError(`${source} '${path}': ${count}:\n  ${shown.join('\n  ')}${more}`);
}

/** Parse the configuration from flags and the environment. Throws ConfigError naming the key. */
export function loadConfig(flags: Flags, env: Env, readText: (path: string) => string = (p) => readFileSync(p, 'utf8')): Config {
  for (const key of Object.keys(env)) {
    if (key.startsWith('SESSIONIZER_') && !key.startsWith('SESSIONIZER_INTERNAL_') && !KNOWN_ENV.has(key)) {
      const known = [...KNOWN_ENV].filter((k) => k.startsWith('SESSIONIZER_')).join(', ');
      throw new ConfigError(`${key}: unknown setting (known SESSIONIZER_* settings: ${known})`);
    }
  }
  const r = <N extends SettingName>(n: N) => read(n, flags, env);
  const mechanism = r('saslMechanism');
  const saslUsername = r('saslUsername');
  const saslPassword = r('saslPassword');
  if (mechanism !== undefined && (saslUsername === undefined || saslPassword === undefined)) {
    throw new ConfigError('KAFKA_SASL_MECHANISM is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required');
  }
  if (mechanism === undefined && (saslUsername !== undefined || saslPassword !== undefined)) {
    throw new ConfigError('KAFKA_SASL_USERNAME/PASSWORD are set without KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512)');
  }
  const channelRulesFile = r('channelRulesFile');
  const rulesSource =
    flags[SETTINGS.channelRulesFile.flag] !== undefined ? `--${SETTINGS.channelRulesFile.flag}` : SETTINGS.channelRulesFile.env;
  const config: Config = {
    clickhouse: {
      url: r('clickhouseUrl'),
      user: r('clickhouseUser'),
      password: r('clickhousePassword'),
      database: r('database'),
      cluster: r('cluster'),
      dataDir: r('dataDir'),
      retryMaxDelayMs: r('clickhouseRetryMaxDelayMs'),
    },
    session: {
      bounceThresholdSeconds: r('bounceThresholdSeconds'),
      bounceThresholdSecondsByTeam: r('bounceThresholdSecondsByTeam'),
      sessionIdToleranceMs: r('sessionIdToleranceMs'),
      sessionIdClientToleranceMs: r('sessionIdClientToleranceMs'),
      maxMessageBytes: r('maxMessageBytes'),
      tokenTeams: r('tokenTeams'),
      channelRules: channelRulesFile === undefined ? undefined : loadChannelRules(channelRulesFile, rulesSource, readText),
      serverSessions: r('serverSessions'),
      serverSessionIdleMs: r('serverSessionIdleMs'),
    },
    kafka: {
      brokers: r('brokers'),
      topics: r('topics'),
      groupId: r('groupId'),
      clientId: r('clientId'),
      dlqTopic: r('dlqTopic'),
      dlqExcluded: r('dlqExcluded'),
      fromBeginning: r('fromBeginning'),
      sasl:
        mechanism === undefined || saslUsername === undefined || saslPassword === undefined
          ? undefined
          : { mechanism, username: saslUsername, password: saslPassword },
      ssl: r('ssl'),
      sslCaFile: r('sslCaFile'),
      sslRejectUnauthorized: r('sslRejectUnauthorized'),
      sessionTimeoutMs: r('sessionTimeoutMs'),
      heartbeatIntervalMs: r('heartbeatIntervalMs'),
      rebalanceTimeoutMs: r('rebalanceTimeoutMs'),
    },
    flush: {
      intervalMs: r('flushIntervalMs'),
      maxSessions: r('flushMaxSessions'),
      maxBytes: r('flushMaxBytes'),
      gcOldSpaceMib: r('flushGcOldSpaceMib'),
    },
    ready: { kafkaSilenceMs: r('readyKafkaSilenceMs') },
    metrics: { port: r('metricsPort'), host: r('metricsHost') },
    log: { level: r('logLevel') },
    shutdownTimeoutMs: r('shutdownTimeoutMs'),
  };
  if (config.kafka.heartbeatIntervalMs >= config.kafka.sessionTimeoutMs) {
    throw new ConfigError(
      `KAFKA_HEARTBEAT_INTERVAL_MS (${config.kafka.heartbeatIntervalMs}) must be below KAFKA_SESSION_TIMEOUT_MS (${config.kafka.sessionTimeoutMs}), or the member is removed between heartbeats`,
    );
  }
  if (config.kafka.dlqTopic !== undefined && config.kafka.topics.some((t) => t.topic === config.kafka.dlqTopic)) {
    throw new ConfigError(`KAFKA_DLQ_TOPIC '${config.kafka.dlqTopic}' is also an input topic in KAFKA_TOPICS`);
  }
  return deepFreeze(config);
}

/** Flags of the given settings for node:util parseArgs (all take a string value). */
export function settingFlags(names: readonly SettingName[]): Record<string, { type: 'string' }> {
  return Object.fromEntries(names.map((n) => [SETTINGS[n].flag, { type: 'string' as const }]));
}

/** One line per setting: flag, variable and help in columns as wide as the longest of each. */
export function settingsHelp(names: readonly SettingName[]): string {
  const rows: readonly Setting[] = names.map((n) => SETTINGS[n]);
  const flagWidth = Math.max(0, ...rows.map((s) => s.flag.length + 2));
  const envWidth = Math.max(0, ...rows.map((s) => s.env.length));
  return rows
    .map((s) => {
      const def = s.default === undefined || s.default === '' ? '' : ` (default ${s.default})`;
      return `  ${`--${s.flag}`.padEnd(flagWidth)}  ${s.env.padEnd(envWidth)}  ${s.help}${def}`;
    })
    .join('\n');
}
