/**
 * A session state as the plain row the sink inserts into `session_partials_in`; the
 * materialized view turns it into aggregate states. Named tuples travel as JSON objects.
 */
import { formatTimestamp, type SessionState } from '@sessionizer/core';

export interface PartialRow {
  team_id: number;
  session_id: string;
  min_ts: string;
  max_ts: string;
  last_key: { ts: string; uuid: string };
  distinct_id: string;
  entry_key: { rank: number; ts: string; uuid: string };
  entry: {
    current_url: string | null;
    pathname: string | null;
    utm_source: string | null;
    utm_medium: string | null;
    utm_campaign: string | null;
    utm_term: string | null;
    utm_content: string | null;
    referring_domain: string | null;
    gclid: string | null;
    gad_source: string | null;
    fbclid: string | null;
    source_site: string | null;
    referring_site: string | null;
  };
  exit_key: { rank: number; ts: string; uuid: string };
  exit: { current_url: string | null; pathname: string | null };
  pageview_uuids: string[];
  autocapture_uuids: string[];
  screen_uuids: string[];
}

export function toPartialRow(s: SessionState): PartialRow {
  const e = s.entry;
  return {
    team_id: s.teamId,
    session_id: s.sessionId,
    min_ts: formatTimestamp(s.startTs),
    max_ts: formatTimestamp(s.endTs),
    last_key: { ts: formatTimestamp(s.last.ts), uuid: s.last.uuid },
    distinct_id: s.last.distinctId,
    entry_key: { rank: e.rank, ts: formatTimestamp(e.ts), uuid: e.uuid },
    entry: {
      current_url: e.currentUrl,
      pathname: e.pathname,
      utm_source: e.utmSource,
      utm_medium: e.utmMedium,
      utm_campaign: e.utmCampaign,
      utm_term: e.utmTerm,
      utm_content: e.utmContent,
      referring_domain: e.referringDomain,
      gclid: e.gclid,
      gad_source: e.gadSource,
      fbclid: e.fbclid,
      source_site: e.sourceSite,
      referring_site: e.referringSite,
    },
    exit_key: { rank: s.exit.rank, ts: formatTimestamp(s.exit.ts), uuid: s.exit.uuid },
    exit: { current_url: s.exit.currentUrl, pathname: s.exit.pathname },
    pageview_uuids: [...s.pageviews],
    autocapture_uuids: [...s.autocaptures],
    screen_uuids: [...s.screens],
  };
}
