/**
 * The session-property catalog: every column of the `sessions` view, declared once.
 *
 * From this list follow: which event properties normalisation extracts (`EXTRACTED_PROPERTIES`),
 * the session state and its merge (session.ts), the oracle (oracle.ts), the row (derive.ts), the
 * partial row, ClickHouse's state table, materialized view and `sessions` view
 * (packages/clickhouse) and the column table of docs/sessions.md (`npm run docs:columns`).
 * Adding a property is one entry here plus its tests (ARCHITECTURE.md has a worked example).
 *
 * Kinds of column:
 *   builtin   the key and the time bounds, kept by every state (team_id, session_id, start/end…)
 *   stored    aggregated from event values by one of the aggregations below
 *   derived   computed from other columns at read time, by the same definition in TypeScript
 *             (derive.ts, DERIVATIONS) and SQL (packages/clickhouse, DERIVED_SQL); both are
 *             `Record<DerivedColumn, …>`, so the compiler holds them to this list
 *
 * Aggregations of stored columns (every one associative, commutative and idempotent):
 *   entry       first non-null value by (page-like events first, time, uuid)
 *   exit        the mirror: last non-null value by (page-like events last, time, uuid)
 *   first/last  first / last non-null value by (time, uuid)
 *   entryEvent  the value on the first page-like event (else the first event) as a whole: NULL
 *               included, so all entryEvent columns come from one event (PostHog's
 *               entry_channel_type_properties and entry_ad_ids_map)
 *   any         a value all events of a session share; the minimum, so it is deterministic
 *   count       distinct uuids of the events it applies to
 *   set         distinct values, sorted by their UTF-8 bytes; with a cap, the `cap` smallest
 */
import type { SessionEvent } from './event.js';
import { attributionSites, hasClickId, type AttributionSites } from './channel/index.js';

export type Value = string | number | boolean | null;
/** ClickHouse type of a stored scalar (always Nullable in storage). */
export type ValueType = 'String' | 'Int64' | 'Bool';
export type ScalarAggregation = 'entry' | 'exit' | 'first' | 'last' | 'entryEvent' | 'any';

/** Which events a property is read from. */
export type Applies = 'all' | 'pageLike' | readonly string[];

interface Documented {
  /** Column of the `sessions` view (or of the state table only, when `hidden`). */
  readonly column: string;
  /** PostHog's name of the same property (HogQL sessions v3), or null when PostHog has none. */
  readonly posthog: string | null;
  /** ClickHouse type in the `sessions` view. */
  readonly viewType: string;
  /** One line for docs/sessions.md. */
  readonly doc: string;
}

export interface BuiltinColumn extends Documented {
  readonly kind: 'builtin';
  /** false for columns the oracle cannot know (max_inserted_at: when ClickHouse got the row). */
  readonly oracle: boolean;
}

export interface ScalarProperty extends Documented {
  readonly kind: 'scalar';
  readonly aggregation: ScalarAggregation;
  readonly type: ValueType;
  /** The event property it reads, for docs (`$current_url`, `person_properties.email` …). */
  readonly source: string;
  readonly applies: Applies;
  /** Its value on one event (already normalised); null when absent. */
  read(e: SessionEvent): Value;
  /** Stored for derivations (channel type) but not a column of the view. */
  readonly hidden?: boolean;
}

export interface CountProperty extends Documented {
  readonly kind: 'count';
  readonly applies: readonly string[];
}

export interface SetProperty extends Documented {
  readonly kind: 'set';
  readonly source: string;
  readonly applies: Applies;
  /** At most this many values (the smallest by UTF-8 bytes); null: no cap. */
  readonly cap: number | null;
  /** Its values on one event, in order, each handed to `add` (the hot path: no array per event). */
  each(e: SessionEvent, add: (value: string) => void): void;
  /** The same values as an array (made from `each`). */
  read(e: SessionEvent): readonly string[];
}

export const DERIVED_COLUMNS = [
  'session_timestamp',
  'session_duration',
  'entry_pathname',
  'entry_hostname',
  'exit_pathname',
  'exit_hostname',
  'num_uniq_urls',
  'channel_type',
  'is_bounce',
] as const;
export type DerivedColumn = (typeof DERIVED_COLUMNS)[number];

export interface DerivedProperty extends Documented {
  readonly kind: 'derived';
  readonly column: DerivedColumn;
}

export type CatalogEntry = BuiltinColumn | ScalarProperty | CountProperty | SetProperty | DerivedProperty;

const NULL_STRING = 'Nullable(String)';

// ---- helpers that keep the entries one line each ----------------------------------------------

const prop = (e: SessionEvent, name: string): Value => e.props?.[name] ?? null;

function scalar(
  column: string,
  aggregation: ScalarAggregation,
  source: string,
  read: (e: SessionEvent) => Value,
  doc: string,
  more: Partial<Pick<ScalarProperty, 'type' | 'applies' | 'hidden' | 'posthog' | 'viewType'>> = {},
): ScalarProperty {
  const type = more.type ?? 'String';
  return {
    kind: 'scalar',
    column,
    posthog: more.posthog === undefined ? column : more.posthog,
    viewType: more.viewType ?? `Nullable(${type})`,
    aggregation,
    type,
    source,
    applies: more.applies ?? 'all',
    read,
    doc,
    ...(more.hidden === true ? { hidden: true } : {}),
  };
}

const derived = (column: DerivedColumn, viewType: string, doc: string, posthog: string | null = column): DerivedProperty => ({
  kind: 'derived',
  column,
  posthog,
  viewType,
  doc,
});

/** A set property: `read` collects what `each` hands on, so the two never differ. */
const set = (p: Omit<SetProperty, 'kind' | 'read'>): SetProperty => ({
  kind: 'set',
  ...p,
  read: (e) => {
    const values: string[] = [];
    p.each(e, (v) => values.push(v));
    return values;
  },
});

/** The registrable domains of the last event asked: both channel_*_site columns read them. */
let sitesEvent: SessionEvent | null = null;
let sites: AttributionSites = { sourceSite: null, referringSite: null };
function sitesOf(e: SessionEvent): AttributionSites {
  if (e !== sitesEvent) {
    sites = attributionSites(e);
    sitesEvent = e;
  }
  return sites;
}

/** An event property read as it is: `first` non-null by time (PostHog's argMin by timestamp). */
const firstOf = (column: string, property: string, type: ValueType = 'String'): ScalarProperty =>
  scalar(column, 'first', property, (e) => prop(e, property), `\`${property}\` of the first event that has it (by time, then uuid)`, {
    type,
  });

/** PostHog v3's lower-tier ad ids (SESSION_V3_LOWER_TIER_AD_IDS). */
export const LOWER_TIER_AD_IDS = [
  'gclsrc',
  'dclid',
  'gbraid',
  'wbraid',
  'msclkid',
  'twclid',
  'li_fat_id',
  'mc_cid',
  'igshid',
  'ttclid',
  'epik',
  'qclid',
  'sccid',
  '_kx',
  'irclid',
] as const;

const entryAttribution = (column: string, source: string, read: (e: SessionEvent) => Value): ScalarProperty =>
  scalar(column, 'entry', source, read, `first non-null \`${source}\`, page-like events first (each column separately)`);

/** The channel-type inputs of the entry event as a whole (hidden: the view shows channel_type). */
const channelInput = (column: string, source: string, read: (e: SessionEvent) => Value, type: ValueType = 'String'): ScalarProperty =>
  scalar(column, 'entryEvent', source, read, `${source} of the entry event, for channel_type`, { hidden: true, posthog: null, type });

// ---- the catalog -------------------------------------------------------------------------------

export const CATALOG: readonly CatalogEntry[] = [
  {
    kind: 'builtin',
    column: 'team_id',
    posthog: 'team_id',
    viewType: 'Int64',
    oracle: true,
    doc: 'the project; sessions of different teams never mix, even with equal ids',
  },
  {
    kind: 'builtin',
    column: 'session_id',
    posthog: 'session_id',
    viewType: 'UUID',
    oracle: true,
    doc: "the `$session_id`, or the server-side session's id (a UUIDv7)",
  },
  derived('session_timestamp', "DateTime64(6, 'UTC')", "the session id's UUIDv7 time (the table's sort key: filter on it to read less)"),
  scalar(
    'distinct_id',
    'last',
    'distinct_id',
    (e) => e.distinctId,
    '`distinct_id` of the latest event (by time, then uuid), e.g. after `identify`',
    { viewType: 'String' },
  ),
  set({
    column: 'distinct_ids',
    posthog: 'distinct_ids',
    viewType: 'Array(String)',
    source: 'distinct_id',
    applies: 'all',
    cap: null,
    each: (e, add) => {
      add(e.distinctId);
    },
    doc: 'every distinct `distinct_id` of the session, sorted',
  }),
  {
    kind: 'builtin',
    column: 'start_timestamp',
    posthog: 'start_timestamp',
    viewType: "DateTime64(6, 'UTC')",
    oracle: true,
    doc: 'time of the first event',
  },
  {
    kind: 'builtin',
    column: 'end_timestamp',
    posthog: 'end_timestamp',
    viewType: "DateTime64(6, 'UTC')",
    oracle: true,
    doc: 'time of the last event',
  },
  derived(
    'session_duration',
    'Int64',
    "`dateDiff('second', start_timestamp, end_timestamp)`: whole-second boundaries crossed, as PostHog computes it",
    '$session_duration',
  ),
  scalar(
    'entry_current_url',
    'entry',
    '$current_url',
    (e) => e.currentUrl,
    'first non-null `$current_url`, page-like events (`$pageview`, `$screen`) first',
    { posthog: '$entry_current_url' },
  ),
  derived(
    'entry_pathname',
    NULL_STRING,
    "ClickHouse's `path(entry_current_url)` (`/a/b` for `https://x/a/b?q#f`, `''` for `https://x`)",
    '$entry_pathname',
  ),
  derived('entry_hostname', NULL_STRING, "ClickHouse's `domain(entry_current_url)` (`''` when it finds no host)", '$entry_hostname'),
  scalar('exit_current_url', 'exit', '$current_url', (e) => e.currentUrl, 'last non-null `$current_url`, page-like events last', {
    posthog: '$end_current_url',
  }),
  derived('exit_pathname', NULL_STRING, '`path(exit_current_url)`', '$end_pathname'),
  derived('exit_hostname', NULL_STRING, '`domain(exit_current_url)`', '$end_hostname'),
  set({
    column: 'urls',
    posthog: '$urls',
    viewType: 'Array(String)',
    source: '$current_url',
    applies: 'pageLike',
    cap: 2000,
    each: (e, add) => {
      if (e.currentUrl !== null) add(e.currentUrl);
    },
    doc: 'distinct `$current_url` of page-like events, sorted; at most 2,000 (the smallest by bytes)',
  }),
  derived('num_uniq_urls', 'UInt64', '`length(urls)`', '$num_uniq_urls'),
  scalar(
    'last_external_click_url',
    'last',
    '$external_click_url',
    (e) => prop(e, '$external_click_url'),
    '`$external_click_url` of the latest event that has one',
    { posthog: '$last_external_click_url' },
  ),
  entryAttribution('entry_utm_source', 'utm_source', (e) => e.utmSource),
  entryAttribution('entry_utm_medium', 'utm_medium', (e) => e.utmMedium),
  entryAttribution('entry_utm_campaign', 'utm_campaign', (e) => e.utmCampaign),
  entryAttribution('entry_utm_term', 'utm_term', (e) => e.utmTerm),
  entryAttribution('entry_utm_content', 'utm_content', (e) => e.utmContent),
  entryAttribution('entry_referring_domain', '$referring_domain', (e) => e.referringDomain),
  entryAttribution('entry_gclid', 'gclid', (e) => e.gclid),
  entryAttribution('entry_gad_source', 'gad_source', (e) => e.gadSource),
  entryAttribution('entry_fbclid', 'fbclid', (e) => e.fbclid),
  scalar(
    'entry_has_gclid',
    'entryEvent',
    'gclid',
    (e) => hasClickId(e.gclid),
    'whether the entry event (first page-like event, else first event) has a `gclid`',
    { type: 'Bool', viewType: 'Bool' },
  ),
  scalar('entry_has_fbclid', 'entryEvent', 'fbclid', (e) => hasClickId(e.fbclid), 'whether the entry event has an `fbclid`', {
    type: 'Bool',
    viewType: 'Bool',
  }),
  ...LOWER_TIER_AD_IDS.map((id) =>
    scalar(
      `entry_${id}`,
      'entryEvent',
      id,
      (e) => prop(e, id),
      `\`${id}\` of the entry event (NULL when it has none, even if a later event has)`,
      { posthog: `$entry_${id}` },
    ),
  ),
  firstOf('browser', '$browser'),
  firstOf('browser_version', '$browser_version'),
  firstOf('os', '$os'),
  firstOf('os_version', '$os_version'),
  firstOf('device_type', '$device_type'),
  firstOf('viewport_width', '$viewport_width', 'Int64'),
  firstOf('viewport_height', '$viewport_height', 'Int64'),
  firstOf('geoip_country_code', '$geoip_country_code'),
  firstOf('geoip_subdivision_1_code', '$geoip_subdivision_1_code'),
  firstOf('geoip_subdivision_1_name', '$geoip_subdivision_1_name'),
  firstOf('geoip_city_name', '$geoip_city_name'),
  firstOf('geoip_time_zone', '$geoip_time_zone'),
  {
    kind: 'count',
    column: 'pageview_count',
    posthog: '$pageview_count',
    viewType: 'UInt64',
    applies: ['$pageview'],
    doc: 'distinct event uuids of `$pageview` (duplicates never count twice)',
  },
  {
    kind: 'count',
    column: 'autocapture_count',
    posthog: '$autocapture_count',
    viewType: 'UInt64',
    applies: ['$autocapture'],
    doc: 'distinct event uuids of `$autocapture`',
  },
  {
    kind: 'count',
    column: 'screen_count',
    posthog: '$screen_count',
    viewType: 'UInt64',
    applies: ['$screen'],
    doc: 'distinct event uuids of `$screen`',
  },
  derived(
    'channel_type',
    'String',
    "the team's first matching custom channel rule, else PostHog's built-in channel type of the entry event's attribution (see [Channel type](#channel-type))",
    '$channel_type',
  ),
  derived(
    'is_bounce',
    'Nullable(Bool)',
    'NULL without a page-like event; false with two or more of them, any `$autocapture`, or a duration of at least the bounce threshold (10 s; per team: `BOUNCE_THRESHOLD_SECONDS_BY_TEAM`); else true',
    '$is_bounce',
  ),
  set({
    column: 'event_names',
    posthog: null,
    viewType: 'Array(String)',
    source: 'event',
    applies: 'all',
    cap: 2000,
    each: (e, add) => {
      add(e.event);
    },
    doc: "distinct event names, sorted; at most 2,000 (the smallest by bytes). Sessions where X happened: `has(event_names, 'X')`",
  }),
  set({
    column: 'flag_keys',
    posthog: null,
    viewType: 'Array(String)',
    source: '$feature/<key>',
    applies: 'all',
    cap: null,
    each: (e, add) => {
      if (e.flags !== undefined) for (const [key] of e.flags) add(key);
    },
    doc: 'the keys of every `$feature/<key>` property seen, sorted',
  }),
  set({
    column: 'flag_key_values',
    posthog: null,
    viewType: 'Array(String)',
    source: '$feature/<key>',
    applies: 'all',
    cap: null,
    each: (e, add) => {
      if (e.flags !== undefined) for (const [key, value] of e.flags) add(`${key}=${value}`);
    },
    doc: '`key=value` of every `$feature/<key>` property seen (booleans as `true`/`false`), sorted',
  }),
  set({
    column: 'hosts',
    posthog: null,
    viewType: 'Array(String)',
    source: '$host',
    applies: 'all',
    cap: 100,
    each: (e, add) => {
      const v = prop(e, '$host');
      if (typeof v === 'string') add(v);
    },
    doc: 'distinct `$host`, sorted; at most 100 (the smallest by bytes)',
  }),
  set({
    column: 'emails',
    posthog: null,
    viewType: 'Array(String)',
    source: 'person_properties.email',
    applies: 'all',
    cap: 10,
    each: (e, add) => {
      const v = prop(e, 'person_properties.email');
      if (typeof v === 'string') add(v);
    },
    doc: 'distinct `person_properties.email` (posthog-capture: `$set.email`), sorted; at most 10 (the smallest by bytes)',
  }),
  scalar(
    'session_id_source',
    'any',
    'event-level',
    (e) => e.sessionIdSource ?? 'client',
    '`client` (the SDK set `$session_id`), or `server`: assigned by the sessionizer to an event without one (see [Server-side sessions](#server-side-sessions))',
    { posthog: null, viewType: 'String' },
  ),
  {
    kind: 'builtin',
    column: 'max_inserted_at',
    posthog: null,
    viewType: "DateTime64(6, 'UTC')",
    oracle: false,
    doc: "when the session's latest partial was written (ClickHouse's clock; not in the oracle)",
  },
  // hidden: the entry event's attribution as a whole, for channel_type (PostHog's entry_channel_type_properties)
  channelInput('channel_utm_source', 'utm_source', (e) => e.utmSource),
  channelInput('channel_utm_medium', 'utm_medium', (e) => e.utmMedium),
  channelInput('channel_utm_campaign', 'utm_campaign', (e) => e.utmCampaign),
  channelInput('channel_referring_domain', '$referring_domain', (e) => e.referringDomain),
  channelInput('channel_gad_source', 'gad_source', (e) => e.gadSource),
  channelInput('channel_source_site', 'registrable domain of utm_source', (e) => sitesOf(e).sourceSite),
  channelInput('channel_referring_site', 'registrable domain of $referring_domain', (e) => sitesOf(e).referringSite),
];

// ---- views of the catalog ----------------------------------------------------------------------

export const SCALARS: readonly ScalarProperty[] = CATALOG.filter((p): p is ScalarProperty => p.kind === 'scalar');
/** Scalars kept as (key, value) candidates, each column separately. */
export const KEYED: readonly ScalarProperty[] = SCALARS.filter((p) => p.aggregation !== 'entryEvent' && p.aggregation !== 'any');
/** Scalars taken from the entry event as a whole: one candidate for all of them. */
export const ENTRY_EVENT: readonly ScalarProperty[] = SCALARS.filter((p) => p.aggregation === 'entryEvent');
export const ANY: readonly ScalarProperty[] = SCALARS.filter((p) => p.aggregation === 'any');
export const COUNTS: readonly CountProperty[] = CATALOG.filter((p): p is CountProperty => p.kind === 'count');
export const SETS: readonly SetProperty[] = CATALOG.filter((p): p is SetProperty => p.kind === 'set');

/** The columns of the `sessions` view, in order. */
export const VIEW_COLUMNS: readonly string[] = CATALOG.filter((p) => !(p.kind === 'scalar' && p.hidden === true)).map((p) => p.column);

/** Extracted from event properties by normalisation: exactly those the catalog reads through `props`. */
export interface ExtractedProperty {
  readonly property: string;
  readonly type: 'String' | 'Int64' | 'url';
}

export const EXTRACTED_PROPERTIES: readonly ExtractedProperty[] = [
  { property: '$external_click_url', type: 'url' },
  ...SCALARS.filter((p) => p.aggregation === 'first').map((p) => ({
    property: p.source,
    type: p.type === 'Int64' ? ('Int64' as const) : ('String' as const),
  })),
  ...LOWER_TIER_AD_IDS.map((id) => ({ property: id, type: 'String' as const })),
  { property: '$host', type: 'String' },
];

export function appliesTo(applies: Applies, event: string): boolean {
  if (applies === 'all') return true;
  if (applies === 'pageLike') return event === '$pageview' || event === '$screen';
  return applies.includes(event);
}

/** Order of strings by their UTF-8 bytes (= code points), as ClickHouse sorts String. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (0xD800–0xDFFF) encode code points above 0xFFFF: they sort after 0xE000–0xFFFF
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy && Math.max(x, y) >= 0xe000) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** A set's values as the view shows them: sorted by bytes, the `cap` smallest. */
export function finalSet(values: Iterable<string>, cap: number | null): string[] {
  const sorted = [...values].sort(compareUtf8);
  return cap === null ? sorted : sorted.slice(0, cap);
}
