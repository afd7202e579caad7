/**
 * A corpus of hostile messages (posthog-events format) for test/faults/hostile.test.ts: random
 * bytes, truncated JSON, wrong types, huge fields, deep nesting, bad session ids, extreme
 * timestamps, one $session_id shared by three teams, SQL-looking strings, control characters in
 * fields, keys and headers, lone UTF-16 surrogates. What each must become is not written here:
 * the test asks normalize() (through decodeRecord), as the consumer does.
 */
import { formatTimestamp } from '@sessionizer/core';
import { Rng } from '@sessionizer/generator';
import { uuidV4Like, uuidV7At } from './arbitraries.js';
import type { Outgoing } from './faults-producer.js';

export interface CorpusMessage extends Outgoing {
  /** What kind of hostility, for the report. */
  readonly kind: string;
}

const BASE_MS = Date.UTC(2026, 10, 26, 12, 0, 0);
let uuidCounter = 5_000_000;

export interface EventSpec {
  readonly team?: number;
  readonly sessionId?: unknown;
  readonly timestamp?: string;
  readonly event?: string;
  readonly distinctId?: unknown;
  readonly uuid?: unknown;
  readonly props?: Record<string, unknown>;
  /** Extra top-level fields (or overrides, e.g. team_id of the wrong type). */
  readonly top?: Record<string, unknown>;
  /** properties as given (not JSON-encoded) when set. */
  readonly rawProperties?: unknown;
}

/** A posthog-events message; by default a valid $pageview of a fresh uuid in a session at BASE_MS. */
export function eventMessage(spec: EventSpec = {}): string {
  const sessionId = spec.sessionId === undefined ? uuidV7At(BASE_MS, 1) : spec.sessionId;
  const props: Record<string, unknown> = {
    ...(sessionId === null ? {} : { $session_id: sessionId }),
    $current_url: 'https://shop.example.com/',
    ...spec.props,
  };
  return JSON.stringify({
    uuid: spec.uuid ?? uuidV4Like(uuidCounter++),
    event: spec.event ?? '$pageview',
    team_id: spec.team ?? 1,
    distinct_id: spec.distinctId ?? 'hostile-user',
    timestamp: spec.timestamp ?? formatTimestamp((BASE_MS + 1_000) * 1_000),
    properties: spec.rawProperties === undefined ? JSON.stringify(props) : spec.rawProperties,
    elements_chain: '',
    ...spec.top,
  });
}

/** A session id of its own at `ms`, and a timestamp `offsetMs` into it. */
function sessionAt(ms: number, n: number): { sessionId: string; at: (offsetMs: number) => string } {
  return { sessionId: uuidV7At(ms, n), at: (offsetMs) => formatTimestamp((ms + offsetMs) * 1_000) };
}

export const SQL_STRINGS = {
  utm_source: "'); DROP TABLE sessions; --",
  utm_campaign: '{db:String}',
  utm_medium: '{{db:Identifier}}',
  utm_term: "\\'; SELECT 1; --",
  utm_content: '\\N',
  gclid: '$$ $1 ? :name %s',
  fbclid: '`sessions`; TRUNCATE TABLE sessions_raw',
  $referring_domain: "evil.example'); --",
  $current_url: "https://shop.example.com/?q=' OR '1'='1' --&x={db:String}",
} as const;

/** The corpus with moderate sizes (every message fits a 1 MiB broker limit with room to spare). */
export function hostileCorpus(seed: number): CorpusMessage[] {
  const rng = new Rng(seed);
  const out: CorpusMessage[] = [];
  const add = (
    kind: string,
    value: string | Buffer | null,
    key: string | Buffer | null = `hostile:${kind}`,
    headers?: Record<string, string | Buffer>,
  ): void => {
    out.push({ kind, key, value, ...(headers === undefined ? {} : { headers }) });
  };

  // random bytes (often invalid UTF-8)
  for (let i = 0; i < 25; i += 1) {
    const bytes = Buffer.alloc(rng.int(1, 4_000));
    for (let j = 0; j < bytes.length; j += 1) bytes[j] = rng.int(0, 255);
    add('random_bytes', bytes);
  }
  // truncated JSON
  for (let i = 0; i < 25; i += 1) {
    const full = eventMessage({ props: { utm_source: 'google' } });
    add('truncated_json', full.slice(0, rng.int(1, full.length - 1)));
  }
  add('empty_value', '');
  add('tombstone', null);
  add('json_null', 'null');
  add('json_array', '[1,2,3]');
  add('json_string', '"just a string"');

  // wrong types
  add('wrong_type', eventMessage({ top: { team_id: 'abc' } }));
  add('wrong_type', eventMessage({ top: { team_id: 1.5 } }));
  add('wrong_type', eventMessage({ top: { team_id: -3 } }));
  add('wrong_type', eventMessage({ top: { team_id: '99999999999999999999' } }));
  add('wrong_type', eventMessage({ uuid: 12345 }));
  add('wrong_type', eventMessage({ top: { event: 42 } }));
  add('wrong_type', eventMessage({ top: { event: '' } }));
  add('wrong_type', eventMessage({ distinctId: { id: 1 } }));
  add('wrong_type', eventMessage({ top: { timestamp: 1_764_158_400 } }));
  add('wrong_type', eventMessage({ rawProperties: [1, 2] }));
  add('wrong_type', eventMessage({ rawProperties: 7 }));
  add('wrong_type', eventMessage({ rawProperties: '[]' }));
  add('wrong_type', eventMessage({ rawProperties: '{not json' }));
  add('wrong_type', eventMessage({ props: { $current_url: 12, utm_source: { a: 1 }, utm_medium: ['x'], utm_campaign: true } }));
  add('wrong_type', eventMessage({ sessionId: 12345 }));
  add('wrong_type', eventMessage({ sessionId: { id: 'x' } }));

  // huge fields (moderate: the broker-sized ones are in largeCorpus)
  add('huge_url', eventMessage({ props: { $current_url: `https://shop.example.com/${'a'.repeat(300_000)}` } }));
  add('huge_utm', eventMessage({ props: { utm_source: 'g'.repeat(200_000), utm_campaign: '\u00e9'.repeat(50_000) } }));
  add('huge_property', eventMessage({ props: { $huge: 'z'.repeat(400_000) } }));
  add('huge_distinct_id', eventMessage({ distinctId: 'd'.repeat(100_000) }));

  // deeply nested JSON: 100 000 levels
  const depth = 100_000;
  add('nested_top_array', '['.repeat(depth) + ']'.repeat(depth));
  add(
    'nested_in_message',
    eventMessage({ top: { deep: JSON.parse(`${'['.repeat(1_000)}${']'.repeat(1_000)}`) as unknown } }).replace(
      '"elements_chain"',
      `"deeper":${'['.repeat(depth)}${']'.repeat(depth)},"elements_chain"`,
    ),
  );
  add(
    'nested_in_properties',
    eventMessage({
      rawProperties: `{"$session_id":"${uuidV7At(BASE_MS, 1)}","$current_url":"https://shop.example.com/deep","deep":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
    }),
  );

  // session ids
  add('bad_session_id', eventMessage({ sessionId: 'not-a-uuid' }));
  add('bad_session_id', eventMessage({ sessionId: '0f0e0d0c-0b0a-4000-9000-000000000001' })); // v4
  add('bad_session_id', eventMessage({ sessionId: uuidV7At(BASE_MS, 2).replace('-8000-', '-c000-') })); // wrong variant
  add('bad_session_id', eventMessage({ sessionId: `{${uuidV7At(BASE_MS, 3)}}` }));
  add('bad_session_id', eventMessage({ sessionId: '' }));
  add('bad_session_id', eventMessage({ sessionId: null }));
  add('bad_session_id', eventMessage({ sessionId: uuidV7At(BASE_MS, 4).toUpperCase() })); // valid: canonicalised
  add('bad_session_id', eventMessage({ sessionId: `${uuidV7At(BASE_MS, 5)}\u0000` }));

  // timestamps far in the past and far in the future
  const epoch = sessionAt(0, 6);
  add('timestamp_extreme', eventMessage({ sessionId: epoch.sessionId, timestamp: '1970-01-01 00:00:00.000001' })); // valid, at the epoch
  add('timestamp_extreme', eventMessage({ sessionId: epoch.sessionId, event: '$autocapture', timestamp: epoch.at(5_000) }));
  const far = sessionAt(Date.UTC(2200, 11, 31, 22, 0, 0), 7);
  add('timestamp_extreme', eventMessage({ sessionId: far.sessionId, timestamp: far.at(1_000) })); // valid, year 2200
  add('timestamp_extreme', eventMessage({ sessionId: far.sessionId, timestamp: '2200-12-31 23:59:59.999999' }));
  add('timestamp_extreme', eventMessage({ timestamp: '2201-01-01 00:00:00' }));
  add('timestamp_extreme', eventMessage({ timestamp: '9999-12-31 23:59:59' }));
  add('timestamp_extreme', eventMessage({ timestamp: '1899-12-31 23:59:59' }));
  add('timestamp_extreme', eventMessage({ timestamp: '1900-01-01 00:00:00' })); // before its session: excluded
  add('timestamp_extreme', eventMessage({ timestamp: '0000-00-00 00:00:00' }));
  add('timestamp_extreme', eventMessage({ timestamp: '2026-02-30 10:00:00' }));
  add('timestamp_extreme', eventMessage({ timestamp: formatTimestamp((BASE_MS + 25 * 3_600_000) * 1_000) })); // expired
  add('timestamp_extreme', eventMessage({ timestamp: '2026-11-26T12:00:01.123456789+00:00' }));
  add('timestamp_extreme', eventMessage({ timestamp: '2026-11-26 12:00:01\r\n' }));
  const farFuture = uuidV7At(2 ** 48 - 1, 8); // year 10889
  add('timestamp_extreme', eventMessage({ sessionId: farFuture, timestamp: '2200-01-01 00:00:00' }));

  // one $session_id, three teams: three sessions
  const shared = sessionAt(BASE_MS + 60_000, 9);
  for (const team of [1, 2, 3]) {
    add(
      'shared_session_id',
      eventMessage({
        team,
        sessionId: shared.sessionId,
        timestamp: shared.at(team * 1_000),
        distinctId: `team-${team}-user`,
        props: { utm_source: `team${team}` },
      }),
    );
    add(
      'shared_session_id',
      eventMessage({ team, sessionId: shared.sessionId, event: '$autocapture', timestamp: shared.at(team * 1_000 + 500) }),
    );
  }

  // SQL-looking strings, as the entry of their own session
  const sql = sessionAt(BASE_MS + 120_000, 10);
  add(
    'sql_strings',
    eventMessage({
      sessionId: sql.sessionId,
      timestamp: sql.at(0),
      distinctId: "Robert'); DROP TABLE students;--",
      props: { ...SQL_STRINGS },
    }),
  );
  add(
    'sql_strings',
    eventMessage({
      sessionId: sql.sessionId,
      event: '$pageview',
      timestamp: sql.at(2_000),
      distinctId: "Robert'); DROP TABLE students;--",
      props: { $current_url: "https://shop.example.com/exit?');DELETE FROM sessions_raw;--" },
    }),
  );

  // CR/LF/NUL in fields, keys and headers
  const ctl = sessionAt(BASE_MS + 180_000, 11);
  const evilHeaders = { 'x-evil': 'a\r\nb\u0000c', 'x-bin': Buffer.from([0, 10, 13, 255, 0xed, 0xa0, 0x80]), 'x-multi\nline': 'v' };
  add(
    'control_chars',
    eventMessage({
      sessionId: ctl.sessionId,
      timestamp: ctl.at(0),
      distinctId: 'line1\nline2\r\n',
      props: {
        $current_url: 'https://shop.example.com/p\r\nq\u0000r',
        utm_source: 'a\r\nb',
        utm_campaign: 'x\u0000y',
        utm_term: '\t\u0007\u001b[31mred',
      },
    }),
    Buffer.from('key\r\nwith\u0000nul'),
    evilHeaders,
  );
  add('control_chars_invalid', '{"uuid": "x"\r\n\u0000', Buffer.from('bad\r\nkey\u0000'), evilHeaders);
  add('control_chars_invalid', eventMessage({ timestamp: 'not\r\na\u0000date' }), 'k\n', evilHeaders);
  add('control_chars_invalid', `{"uuid": \u2028\u2029\u0085 "x"}`, 'k\u2028');

  // lone UTF-16 surrogates (as \ud800 escapes) in URLs and UTMs, and invalid UTF-8 bytes
  const sur = sessionAt(BASE_MS + 240_000, 12);
  add(
    'lone_surrogates',
    eventMessage({
      sessionId: sur.sessionId,
      timestamp: sur.at(0),
      distinctId: 'u\udfff',
      props: {
        $current_url: 'https://shop.example.com/\ud800x',
        utm_source: '\udc00src',
        utm_medium: 'med\ud83d',
        utm_campaign: 'ok \ud83d\ude00 pair',
        $referring_domain: '\ud800.example',
      },
    }),
  );
  const raw = Buffer.from(
    eventMessage({ sessionId: sur.sessionId, event: '$autocapture', timestamp: sur.at(1_000), props: { utm_source: 'RAWBYTES' } }),
  );
  const at = raw.indexOf('RAWBYTES');
  add('invalid_utf8', Buffer.concat([raw.subarray(0, at), Buffer.from([0xed, 0xa0, 0x80, 0xff, 0xc3]), raw.subarray(at + 8)]));
  add('lone_surrogates_invalid', eventMessage({ uuid: '\ud800' }));
  return out;
}

/**
 * Invalid messages of a few hundred KB each (each far below the broker's limit, together above
 * it): a 100 000-level nested object and truncated JSON.
 */
export function bigInvalidCorpus(): CorpusMessage[] {
  const depth = 100_000;
  return [
    { kind: 'nested_top_object', key: 'big-invalid:1', value: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` },
    { kind: 'huge_invalid', key: 'big-invalid:2', value: `{"uuid":"${'q'.repeat(300_000)}` },
    { kind: 'huge_invalid', key: 'big-invalid:3', value: `{"uuid":"${'r'.repeat(300_000)}` },
  ];
}

/** Messages as large as the broker accepts (`size` bytes each), valid and invalid. */
export function largeCorpus(size: number): CorpusMessage[] {
  const pad = (text: string): string => {
    const marker = 'PADPADPAD';
    return text.replace(marker, 'p'.repeat(size - Buffer.byteLength(text) + marker.length));
  };
  const big = sessionAt(BASE_MS + 300_000, 13);
  return [
    {
      kind: 'max_valid',
      key: 'large:1',
      value: pad(eventMessage({ sessionId: big.sessionId, timestamp: big.at(0), props: { $huge: 'PADPADPAD' } })),
    },
    {
      kind: 'max_valid_url',
      key: 'large:2',
      value: pad(
        eventMessage({
          sessionId: big.sessionId,
          event: '$pageview',
          timestamp: big.at(1_000),
          props: { $current_url: 'https://shop.example.com/PADPADPAD' },
        }),
      ),
    },
    { kind: 'max_invalid', key: 'large:3', value: pad('{"uuid":"PADPADPAD') },
    { kind: 'max_invalid', key: 'large:4', value: pad('{"uuid":"PADPADPAD') },
  ];
}
