/**
 * `sessionizer demo`: the main job end to end on a fresh machine. It gets a broker (KAFKA_BROKERS,
 * else a local one), creates a topic, feeds it realistic generated PostHog traffic, runs the
 * service until everything is committed, stops it cleanly, and prints a summary read back from
 * the `sessions` view.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export interface DemoSummary {
  readonly totals: { sessions: number; avg_duration_s: number; bounce_rate_pct: number | null; pageviews: number };
  readonly channels: { channel_type: string; sessions: number; bounce_rate_pct: number | null }[];
  readonly entryPaths: { entry_pathname: string | null; sessions: number }[];
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

export async function readSummary(client: ClickHouseClient, database: string): Promise<DemoSummary> {
  const [totals] = await rows<DemoSummary['totals']>(
    client,
    `SELECT count() AS sessions, round(avg(session_duration), 1) AS avg_duration_s,
            round(100 * countIf(is_bounce) / nullIf(countIf(is_bounce IS NOT NULL), 0), 1) AS bounce_rate_pct,
            sum(pageview_count) AS pageviews
     FROM ${database}.sessions`,
  );
  const channels = await rows<DemoSummary['channels'][number]>(
    client,
    `SELECT channel_type, count() AS sessions,
            round(100 * countIf(is_bounce) / nullIf(countIf(is_bounce IS NOT NULL), 0), 1) AS bounce_rate_pct
     FROM ${database}.sessions GROUP BY channel_type ORDER BY sessions DESC, channel_type`,
  );
  const entryPaths = await rows<DemoSummary['entryPaths'][number]>(
    client,
    `SELECT entry_pathname, count() AS sessions FROM ${database}.sessions
     GROUP BY entry_pathname ORDER BY sessions DESC, entry_pathname LIMIT 5`,
  );
  return { totals: totals ?? { sessions: 0, avg_duration_s: 0, bounce_rate_pct: null, pageviews: 0 }, channels, entryPaths };
}

export function formatSummary(s: DemoSummary, context: { events: number; seconds: number; database: string; target: string }): string {
  const pct = (v: number | null): string => (v === null ? '—' : `${v}%`);
  const lines = [
    '',
    `sessions summary (${context.database} on ${context.target})`,
    `  ${context.events} events consumed in ${context.seconds.toFixed(1)} s`,
    `  sessions: ${s.totals.sessions}   pageviews: ${s.totals.pageviews}   avg duration: ${s.totals.avg_duration_s} s   bounce rate: ${pct(s.totals.bounce_rate_pct)}`,
    '',
    '  channel_type            sessions  bounce',
    ...s.channels.map((c) => `  ${c.channel_type.padEnd(22)} ${String(c.sessions).padStart(9)}  ${pct(c.bounce_rate_pct).padStart(6)}`),
    '',
    '  top entry paths         sessions',
    ...s.entryPaths.map((p) => `  ${(p.entry_pathname ?? '(none)').slice(0, 22).padEnd(22)} ${String(p.sessions).padStart(9)}`),
    '',
    'query it yourself, e.g.:',
    `  npx sessionizer query "SELECT channel_type, count() AS sessions, avg(session_duration) FROM sessions GROUP BY channel_type"`,
    '',
  ];
  return lines.join('\n');
}
