/**
 * From a session's aggregate to the row analysts see. The `sessions` view in ClickHouse derives
 * the same columns with the same definitions; tests hold them equal.
 */
import { CATALOG, type DerivedColumn, type Value } from './catalog.js';
import { channelType, NO_CHANNEL_RULES, type ChannelInput, type ChannelRules } from './channel/index.js';
import { floorSeconds, formatTimestamp, MICROS_PER_MS } from './time.js';
import { urlDomain, urlPath } from './url.js';
import { uuidV7Millis } from './uuid.js';

/** The columns of the `sessions` view the oracle knows, in order (all but max_inserted_at). */
export const SESSION_COLUMNS: readonly (keyof Session)[] = CATALOG.filter(
  (p) => !(p.kind === 'scalar' && p.hidden === true) && !(p.kind === 'builtin' && !p.oracle),
).map((p) => p.column as keyof Session);

/**
 * The string columns of the `sessions` view that custom channel rules may read (the view code
 * passes the same list to channelTypeSql).
 */
export const CHANNEL_RULE_COLUMNS = [
  'distinct_id',
  'entry_current_url',
  'entry_pathname',
  'entry_hostname',
  'exit_current_url',
  'exit_pathname',
  'exit_hostname',
  'entry_utm_source',
  'entry_utm_medium',
  'entry_utm_campaign',
  'entry_utm_term',
  'entry_utm_content',
  'entry_referring_domain',
  'entry_gclid',
  'entry_gad_source',
  'entry_fbclid',
] as const satisfies readonly (keyof Session)[];

/** A row of the `sessions` view as the oracle computes it (catalog.ts documents each column). */
export interface Session {
  team_id: number;
  session_id: string;
  /** `YYYY-MM-DD HH:MM:SS.ffffff`, UTC, as ClickHouse prints DateTime64(6, 'UTC'). */
  session_timestamp: string;
  distinct_id: string;
  distinct_ids: string[];
  start_timestamp: string;
  end_timestamp: string;
  session_duration: number;
  entry_current_url: string | null;
  entry_pathname: string | null;
  entry_hostname: string | null;
  exit_current_url: string | null;
  exit_pathname: string | null;
  exit_hostname: string | null;
  urls: string[];
  num_uniq_urls: number;
  last_external_click_url: string | null;
  entry_utm_source: string | null;
  entry_utm_medium: string | null;
  entry_utm_campaign: string | null;
  entry_utm_term: string | null;
  entry_utm_content: string | null;
  entry_referring_domain: string | null;
  entry_gclid: string | null;
  entry_gad_source: string | null;
  entry_fbclid: string | null;
  entry_has_gclid: boolean;
  entry_has_fbclid: boolean;
  entry_gclsrc: string | null;
  entry_dclid: string | null;
  entry_gbraid: string | null;
  entry_wbraid: string | null;
  entry_msclkid: string | null;
  entry_twclid: string | null;
  entry_li_fat_id: string | null;
  entry_mc_cid: string | null;
  entry_igshid: string | null;
  entry_ttclid: string | null;
  entry_epik: string | null;
  entry_qclid: string | null;
  entry_sccid: string | null;
  entry__kx: string | null;
  entry_irclid: string | null;
  browser: string | null;
  browser_version: string | null;
  os: string | null;
  os_version: string | null;
  device_type: string | null;
  viewport_width: number | null;
  viewport_height: number | null;
  geoip_country_code: string | null;
  geoip_subdivision_1_code: string | null;
  geoip_subdivision_1_name: string | null;
  geoip_city_name: string | null;
  geoip_time_zone: string | null;
  pageview_count: number;
  autocapture_count: number;
  screen_count: number;
  /** A built-in ChannelType, or a team's custom channel type. */
  channel_type: string;
  is_bounce: boolean | null;
  event_names: string[];
  flag_keys: string[];
  flag_key_values: string[];
  hosts: string[];
  emails: string[];
  session_id_source: string;
}

export interface DeriveOptions {
  /** A session with one page-like event is a bounce when shorter than this. Default 10. */
  readonly bounceThresholdSeconds?: number;
  /** Per-team overrides of the bounce threshold (PostHog's bounceRateDurationSeconds). */
  readonly bounceThresholdSecondsByTeam?: ReadonlyMap<number, number>;
  /** Custom channel rules per team (default: none). */
  readonly channelRules?: ChannelRules;
}

export const DEFAULT_BOUNCE_THRESHOLD_SECONDS = 10;

/** The bounce threshold of a team: its override, else the global one, else 10 s. */
export function bounceThresholdOf(teamId: number, options: DeriveOptions = {}): number {
  return options.bounceThresholdSecondsByTeam?.get(teamId) ?? options.bounceThresholdSeconds ?? DEFAULT_BOUNCE_THRESHOLD_SECONDS;
}

/** PostHog's session_duration: dateDiff('second', start, end), i.e. whole-second boundaries crossed. */
export function sessionDuration(startTs: number, endTs: number): number {
  return floorSeconds(endTs) - floorSeconds(startTs);
}

/**
 * PostHog v3's is_bounce: NULL without a page-like event ($pageview/$screen); false with two or
 * more of them, any $autocapture, or a duration of at least the threshold; else true.
 */
export function isBounce(pageLike: number, autocaptures: number, durationSeconds: number, thresholdSeconds: number): boolean | null {
  if (pageLike === 0) return null;
  return !(pageLike >= 2 || autocaptures > 0 || durationSeconds >= thresholdSeconds);
}

/** What a merged state (or the oracle) knows of a session: the builtins and every stored column. */
export interface SessionFacts {
  readonly teamId: number;
  readonly sessionId: string;
  readonly startTs: number;
  readonly endTs: number;
  /** Stored columns (hidden ones included) by name: scalars, counts, sets (sorted, capped). */
  readonly values: Readonly<Record<string, Value | readonly string[]>>;
}

const str = (f: SessionFacts, column: string): string | null => {
  const v = f.values[column];
  return typeof v === 'string' ? v : null;
};
const num = (f: SessionFacts, column: string): number => {
  const v = f.values[column];
  return typeof v === 'number' ? v : 0;
};

/** The channel input (PostHog's entry_channel_type_properties) of a session's entry event. */
export function channelInputOf(f: SessionFacts): ChannelInput {
  return {
    utmSource: str(f, 'channel_utm_source'),
    utmMedium: str(f, 'channel_utm_medium'),
    utmCampaign: str(f, 'channel_utm_campaign'),
    referringDomain: str(f, 'channel_referring_domain'),
    hasGclid: f.values['entry_has_gclid'] === true,
    hasFbclid: f.values['entry_has_fbclid'] === true,
    gadSource: str(f, 'channel_gad_source'),
  };
}

type Row = Record<string, Value | readonly string[]>;

/**
 * The derived columns, in TypeScript. The ClickHouse view computes the same with DERIVED_SQL
 * (packages/clickhouse); both are keyed by DerivedColumn, so neither can miss one.
 */
export const DERIVATIONS: Record<DerivedColumn, (f: SessionFacts, row: Row, options: DeriveOptions) => Value> = {
  session_timestamp: (f) => formatTimestamp(uuidV7Millis(f.sessionId) * MICROS_PER_MS),
  session_duration: (f) => sessionDuration(f.startTs, f.endTs),
  entry_pathname: (f) => urlPath(str(f, 'entry_current_url')),
  entry_hostname: (f) => urlDomain(str(f, 'entry_current_url')),
  exit_pathname: (f) => urlPath(str(f, 'exit_current_url')),
  exit_hostname: (f) => urlDomain(str(f, 'exit_current_url')),
  num_uniq_urls: (f) => {
    const urls = f.values['urls'];
    return Array.isArray(urls) ? urls.length : 0;
  },
  channel_type: (f, row, options) => {
    const rules = (options.channelRules ?? NO_CHANNEL_RULES).get(f.teamId) ?? [];
    return channelType(channelInputOf(f), { rules, columns: (column) => ruleColumn(row, column) });
  },
  is_bounce: (f, _row, options) =>
    isBounce(
      num(f, 'pageview_count') + num(f, 'screen_count'),
      num(f, 'autocapture_count'),
      sessionDuration(f.startTs, f.endTs),
      bounceThresholdOf(f.teamId, options),
    ),
};

export function toSession(f: SessionFacts, options: DeriveOptions = {}): Session {
  const row: Row = {};
  for (const p of CATALOG) {
    switch (p.kind) {
      case 'builtin':
        if (p.column === 'team_id') row[p.column] = f.teamId;
        else if (p.column === 'session_id') row[p.column] = f.sessionId;
        else if (p.column === 'start_timestamp') row[p.column] = formatTimestamp(f.startTs);
        else if (p.column === 'end_timestamp') row[p.column] = formatTimestamp(f.endTs);
        break;
      case 'derived':
        // channel_type reads other columns (custom rules): filled in below, once the row is complete
        row[p.column] = p.column === 'channel_type' ? '' : DERIVATIONS[p.column](f, row, options);
        break;
      default:
        if (p.kind === 'scalar' && p.hidden === true) break;
        row[p.column] = f.values[p.column] ?? (p.kind === 'scalar' ? null : p.kind === 'count' ? 0 : []);
    }
  }
  row['channel_type'] = DERIVATIONS.channel_type(f, row, options);
  return row as unknown as Session;
}

/** A string column of the row, for custom channel rules (CHANNEL_RULE_COLUMNS). */
function ruleColumn(row: Row, column: string): string | null {
  const value = row[column];
  if (value === null || typeof value === 'string') return value;
  throw new Error(`custom channel rules read the string columns of sessions; ${column} is not one`);
}

/** Sort sessions by (team_id, session_id): the order tests compare in. */
export function compareSessions(a: Pick<Session, 'team_id' | 'session_id'>, b: Pick<Session, 'team_id' | 'session_id'>): number {
  return a.team_id - b.team_id || (a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : 0);
}
