/**
 * From a session's aggregate to the row analysts see. The `sessions` view in ClickHouse derives
 * the same columns with the same definitions; tests hold them equal.
 */
import { channelType, hasClickId, NO_CHANNEL_RULES, type ChannelInput, type ChannelRules } from './channel/index.js';
import type { EntryPoint, ExitPoint } from './session.js';
import { floorSeconds, formatTimestamp } from './time.js';

/** The columns of the `sessions` view, in order. */
export const SESSION_COLUMNS = [
  'team_id',
  'session_id',
  'distinct_id',
  'start_timestamp',
  'end_timestamp',
  'session_duration',
  'entry_current_url',
  'entry_pathname',
  'exit_current_url',
  'exit_pathname',
  'entry_utm_source',
  'entry_utm_medium',
  'entry_utm_campaign',
  'entry_utm_term',
  'entry_utm_content',
  'entry_referring_domain',
  'entry_gclid',
  'entry_gad_source',
  'entry_fbclid',
  'pageview_count',
  'autocapture_count',
  'screen_count',
  'channel_type',
  'is_bounce',
] as const;

/**
 * The string columns of the `sessions` view that custom channel rules may read (the view code
 * passes the same list to channelTypeSql).
 */
export const CHANNEL_RULE_COLUMNS = [
  'distinct_id',
  'entry_current_url',
  'entry_pathname',
  'exit_current_url',
  'exit_pathname',
  'entry_utm_source',
  'entry_utm_medium',
  'entry_utm_campaign',
  'entry_utm_term',
  'entry_utm_content',
  'entry_referring_domain',
  'entry_gclid',
  'entry_gad_source',
  'entry_fbclid',
] as const satisfies readonly (typeof SESSION_COLUMNS)[number][];

export interface Session {
  team_id: number;
  session_id: string;
  distinct_id: string;
  /** `YYYY-MM-DD HH:MM:SS.ffffff`, UTC, as ClickHouse prints DateTime64(6, 'UTC'). */
  start_timestamp: string;
  end_timestamp: string;
  session_duration: number;
  entry_current_url: string | null;
  entry_pathname: string | null;
  exit_current_url: string | null;
  exit_pathname: string | null;
  entry_utm_source: string | null;
  entry_utm_medium: string | null;
  entry_utm_campaign: string | null;
  entry_utm_term: string | null;
  entry_utm_content: string | null;
  entry_referring_domain: string | null;
  entry_gclid: string | null;
  entry_gad_source: string | null;
  entry_fbclid: string | null;
  pageview_count: number;
  autocapture_count: number;
  screen_count: number;
  /** A built-in ChannelType, or a team's custom channel type. */
  channel_type: string;
  is_bounce: boolean | null;
}

export interface DeriveOptions {
  /** A session with one page-like event is a bounce when shorter than this. Default 10. */
  readonly bounceThresholdSeconds?: number;
  /** Custom channel rules per team (default: none). */
  readonly channelRules?: ChannelRules;
}

export const DEFAULT_BOUNCE_THRESHOLD_SECONDS = 10;

/** PostHog's session_duration: dateDiff('second', start, end), i.e. whole-second boundaries crossed. */
export function sessionDuration(startTs: number, endTs: number): number {
  return floorSeconds(endTs) - floorSeconds(startTs);
}

/**
 * NULL when the session has no $pageview/$screen/$autocapture; otherwise true iff there is
 * exactly one such event (by distinct uuid) and the duration is under the threshold.
 */
export function isBounce(pageLikeAndAutocapture: number, durationSeconds: number, thresholdSeconds: number): boolean | null {
  if (pageLikeAndAutocapture === 0) return null;
  return pageLikeAndAutocapture === 1 && durationSeconds < thresholdSeconds;
}

export interface SessionFacts {
  readonly teamId: number;
  readonly sessionId: string;
  readonly distinctId: string;
  readonly startTs: number;
  readonly endTs: number;
  readonly entry: EntryPoint;
  readonly exit: ExitPoint;
  readonly pageviews: number;
  readonly autocaptures: number;
  readonly screens: number;
}

/** The channel input (PostHog's entry_channel_type_properties) of a session's entry. */
export function channelInputOf(e: EntryPoint): ChannelInput {
  return {
    utmSource: e.utmSource,
    utmMedium: e.utmMedium,
    utmCampaign: e.utmCampaign,
    referringDomain: e.referringDomain,
    hasGclid: hasClickId(e.gclid),
    hasFbclid: hasClickId(e.fbclid),
    gadSource: e.gadSource,
  };
}

export function toSession(f: SessionFacts, options: DeriveOptions = {}): Session {
  const duration = sessionDuration(f.startTs, f.endTs);
  const threshold = options.bounceThresholdSeconds ?? DEFAULT_BOUNCE_THRESHOLD_SECONDS;
  const e = f.entry;
  const session: Session = {
    team_id: f.teamId,
    session_id: f.sessionId,
    distinct_id: f.distinctId,
    start_timestamp: formatTimestamp(f.startTs),
    end_timestamp: formatTimestamp(f.endTs),
    session_duration: duration,
    entry_current_url: e.currentUrl,
    entry_pathname: e.pathname,
    exit_current_url: f.exit.currentUrl,
    exit_pathname: f.exit.pathname,
    entry_utm_source: e.utmSource,
    entry_utm_medium: e.utmMedium,
    entry_utm_campaign: e.utmCampaign,
    entry_utm_term: e.utmTerm,
    entry_utm_content: e.utmContent,
    entry_referring_domain: e.referringDomain,
    entry_gclid: e.gclid,
    entry_gad_source: e.gadSource,
    entry_fbclid: e.fbclid,
    pageview_count: f.pageviews,
    autocapture_count: f.autocaptures,
    screen_count: f.screens,
    channel_type: '',
    is_bounce: isBounce(f.pageviews + f.autocaptures + f.screens, duration, threshold),
  };
  const rules = (options.channelRules ?? NO_CHANNEL_RULES).get(f.teamId) ?? [];
  session.channel_type = channelType(channelInputOf(e), { rules, columns: (column) => ruleColumn(session, column) });
  return session;
}

/** A string column of the row, for custom channel rules (CHANNEL_RULE_COLUMNS). */
function ruleColumn(session: Session, column: string): string | null {
  const value: unknown = (session as unknown as Readonly<Record<string, unknown>>)[column];
  if (value === null || typeof value === 'string') return value;
  throw new Error(`custom channel rules read the string columns of sessions; ${column} is not one`);
}

/** Sort sessions by (team_id, session_id): the order tests compare in. */
export function compareSessions(a: Pick<Session, 'team_id' | 'session_id'>, b: Pick<Session, 'team_id' | 'session_id'>): number {
  return a.team_id - b.team_id || (a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : 0);
}
