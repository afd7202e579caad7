/**
 * The settings table is the one declaration of every setting: each row's value goes to exactly
 * its `target` in Config, every Config field has exactly one row, and a setting has one name
 * across the variable, the flag, the table and Config. Also: --help keeps its columns aligned.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS, settingsHelp, type Env, type SettingName } from './config.js';

/** A valid value for every setting, different from its default (the Record makes it complete). */
const SAMPLE: Record<SettingName, string> = {
  clickhouseUrl: 'http://clickhouse:8123',
  clickhouseUser: 'writer',
  clickhousePassword: 'secret',
  database: 'analytics',
  dataDir: '/var/lib/sessionizer',
  cluster: 'main',
  logLevel: 'debug',
  bounceThresholdSeconds: '30',
  bounceThresholdSecondsByTeam: '2=20',
  channelRulesFile: 'rules.json',
  sessionIdToleranceMs: '1000',
  sessionIdClientToleranceMs: '2000',
  maxMessageBytes: '4096',
  tokenTeams: 'phc_x=2',
  serverSessions: 'all',
  serverSessionIdleMs: '60000',
  flushIntervalMs: '1000',
  flushMaxSessions: '10',
  flushMaxBytes: '2048',
  flushGcOldSpaceMib: '0',
  brokers: 'kafka:9092',
  topics: 'capture:posthog-capture',
  groupId: 'group',
  clientId: 'client',
  dlqTopic: 'dlq',
  dlqExcluded: 'true',
  fromBeginning: 'false',
  saslMechanism: 'scram-sha-512',
  saslUsername: 'other-user',
  saslPassword: 'other-password',
  ssl: 'true',
  sslCaFile: 'ca.pem',
  sslRejectUnauthorized: 'false',
  sessionTimeoutMs: '45000',
  heartbeatIntervalMs: '2000',
  rebalanceTimeoutMs: '90000',
  readyKafkaSilenceMs: '5000',
  clickhouseRetryMaxDelayMs: '1000',
  metricsPort: '9000',
  metricsHost: '127.0.0.1',
  shutdownTimeoutMs: '5000',
};

const NAMES = Object.keys(SETTINGS) as SettingName[];
/** SASL is all or nothing: the base has all three, so each can change alone. */
const BASE: Env = { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'user', KAFKA_SASL_PASSWORD: 'password' };
const load = (env: Env) => loadConfig({}, env, () => '{}');

/** Config's fields by dotted path: a leaf is anything but a plain object. */
function fields(value: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !(value instanceof Map) && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) fields(v, path === '' ? k : `${path}.${k}`, out);
  } else {
    out.set(path, value);
  }
  return out;
}

/** `KAFKA_GROUP_ID`, `kafka.groupId`, `group-id` → their lower-case words. */
const words = (name: string): string[] =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s._-]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
/** The variable's words without the product prefix (SESSIONIZER_DATA_DIR is data dir). */
const envWords = (env: string): string[] => words(env).filter((w, i) => !(i === 0 && w === 'sessionizer'));
/** The same words, or the same words but the leading group (KAFKA_GROUP_ID → --group-id, groupId). */
const sameName = (name: string[], env: string[]): boolean =>
  isDeepStrictEqual(name, env) || isDeepStrictEqual(name, env.slice(1)) || isDeepStrictEqual(name.slice(1), env);

/**
 * Flags that are not the variable's words: short forms the README documents, kept so as not to
 * break command lines.
 */
const DOCUMENTED_SHORT_FLAGS: Partial<Record<SettingName, string>> = {
  clickhouseUrl: 'clickhouse',
  bounceThresholdSeconds: 'bounce-threshold',
  bounceThresholdSecondsByTeam: 'bounce-threshold-by-team',
};

describe('SETTINGS and Config', () => {
  it('every Config field has exactly one row, and every row targets a field', () => {
    const configFields = [...fields(load(BASE)).keys()].sort();
    const targets = NAMES.map((n) => SETTINGS[n].target as string).sort();
    expect(new Set(targets).size).toBe(targets.length);
    expect(targets).toEqual(configFields);
  });

  it("a row's value goes to its target and nowhere else", () => {
    const base = fields(load(BASE));
    for (const name of NAMES) {
      const s = SETTINGS[name];
      const changed = fields(load({ ...BASE, [s.env]: SAMPLE[name] }));
      const differing = [...changed].filter(([path, v]) => !isDeepStrictEqual(v, base.get(path))).map(([path]) => path);
      expect(differing, `${s.env}=${SAMPLE[name]}`).toEqual([s.target]);
    }
  });

  it('a setting has one name: variable, flag, table key and Config field', () => {
    for (const name of NAMES) {
      const s = SETTINGS[name];
      const env = envWords(s.env);
      // CHANNEL_RULES_FILE names the file; Config holds the rules read from it.
      const target = name === 'channelRulesFile' ? [...words(s.target), 'file'] : words(s.target);
      expect(sameName(target, env), `${s.env} → Config ${s.target}`).toBe(true);
      expect(sameName(words(name), env), `${s.env} → SETTINGS.${name}`).toBe(true);
      if (DOCUMENTED_SHORT_FLAGS[name] !== undefined) expect(s.flag).toBe(DOCUMENTED_SHORT_FLAGS[name]);
      else expect(sameName(words(s.flag), env), `${s.env} → --${s.flag}`).toBe(true);
    }
  });
});

describe('settingsHelp', () => {
  it('keeps flag, variable and help in aligned columns, however long the flag', () => {
    const lines = settingsHelp(NAMES).split('\n');
    expect(lines).toHaveLength(NAMES.length);
    const envColumn = new Set(lines.map((l, i) => l.indexOf(` ${SETTINGS[NAMES[i] as SettingName].env} `)));
    const helpColumn = new Set(lines.map((l, i) => l.indexOf(` ${SETTINGS[NAMES[i] as SettingName].help}`)));
    expect(envColumn.size).toBe(1);
    expect(helpColumn.size).toBe(1);
    expect(lines.find((l) => l.includes('--bounce-threshold-by-team'))).toMatch(
      /^ {2}--bounce-threshold-by-team {2,}BOUNCE_THRESHOLD_SECONDS_BY_TEAM {2,}team_id=seconds/,
    );
  });
});
