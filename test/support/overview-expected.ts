/**
 * The overview's numbers computed independently: every session row of a team read with a plain
 * `SELECT *` from the `sessions` view, then filtered, counted, sorted and averaged in
 * JavaScript. The page and its API must give exactly these.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Filter, Period } from '../../services/sessionizer/src/overview/request.js';
import { TABLE_ROWS } from '../../services/sessionizer/src/overview/queries.js';

export type SessionRow = Record<string, unknown> & {
  readonly start_timestamp: string;
  readonly distinct_id: string;
  readonly pageview_count: number;
  readonly session_duration: number;
  readonly is_bounce: boolean | null;
};

export async function sessionRows(client: ClickHouseClient, database: string, team: string): Promise<SessionRow[]> {
  const rs = await client.query({
    query: `SELECT * FROM ${database}.sessions WHERE team_id = {team:Int64}`,
    query_params: { team },
    format: 'JSONEachRow',
  });
  return rs.json<SessionRow>();
}

/** The last UTC day with a session start, as the default range ends. */
export function lastDay(rows: readonly SessionRow[]): string {
  return rows.reduce((m, r) => (r.start_timestamp > m ? r.start_timestamp : m), '').slice(0, 10);
}

function matches(r: SessionRow, filters: readonly Filter[]): boolean {
  return filters.every((f) => (f.value === null ? r[f.column] === null : r[f.column] === f.value));
}

export function select(rows: readonly SessionRow[], start: string, end: string, filters: readonly Filter[]): SessionRow[] {
  // 'YYYY-MM-DD HH:MM:SS[.ffffff]' compares as text
  return rows.filter((r) => r.start_timestamp >= start && r.start_timestamp < end && matches(r, filters));
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Numbers {
  sessions: number;
  visitors: number;
  pageviews: number;
  median_duration: number | null;
  avg_duration: number | null;
  bounce_rate: number | null;
}

function numbers(rows: readonly SessionRow[]): Numbers {
  const durations = rows.map((r) => r.session_duration);
  const judged = rows.filter((r) => r.is_bounce !== null);
  return {
    sessions: rows.length,
    visitors: new Set(rows.map((r) => r.distinct_id)).size,
    pageviews: rows.reduce((a, r) => a + r.pageview_count, 0),
    median_duration: median(durations),
    avg_duration: rows.length === 0 ? null : durations.reduce((a, b) => a + b, 0) / rows.length,
    bounce_rate: judged.length === 0 ? null : judged.filter((r) => r.is_bounce === true).length / judged.length,
  };
}

export interface ExpectedTile {
  readonly key: keyof Numbers;
  readonly value: number | null;
  readonly previous: number | null;
  readonly change: number | null;
}

export function expectedTiles(rows: readonly SessionRow[], period: Period, filters: readonly Filter[]): ExpectedTile[] {
  const now = numbers(select(rows, period.start, period.end, filters));
  const before = numbers(select(rows, period.previousStart, period.start, filters));
  const keys: (keyof Numbers)[] = ['sessions', 'visitors', 'pageviews', 'median_duration', 'avg_duration', 'bounce_rate'];
  return keys.map((key) => {
    const value = now[key];
    const previous = before[key];
    let change: number | null = null;
    if (value !== null && previous !== null) {
      if (key === 'bounce_rate') change = value - previous;
      else if (previous !== 0) change = (value - previous) / previous;
    }
    return { key, value, previous, change };
  });
}

export function expectedSeriesTotal(rows: readonly SessionRow[], period: Period, filters: readonly Filter[]): number {
  return select(rows, period.start, period.end, filters).length;
}

export interface ExpectedTable {
  readonly rows: { value: string | null; sessions: number; visitors: number }[];
  readonly distinct_values: number;
  readonly total_sessions: number;
}

/** ClickHouse orders strings by their UTF-8 bytes. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function expectedTable(rows: readonly SessionRow[], period: Period, filters: readonly Filter[], column: string): ExpectedTable {
  const picked = select(rows, period.start, period.end, filters);
  const groups = new Map<string | null, SessionRow[]>();
  for (const r of picked) {
    const v = (r[column] ?? null) as string | null;
    const list = groups.get(v);
    if (list === undefined) groups.set(v, [r]);
    else list.push(r);
  }
  const all = [...groups].map(([value, list]) => ({
    value,
    sessions: list.length,
    visitors: new Set(list.map((r) => r.distinct_id)).size,
  }));
  all.sort((a, b) => {
    if (a.sessions !== b.sessions) return b.sessions - a.sessions;
    if (a.value === null || b.value === null) return a.value === null ? (b.value === null ? 0 : 1) : -1;
    return byteOrder(a.value, b.value);
  });
  return { rows: all.slice(0, TABLE_ROWS), distinct_values: groups.size, total_sessions: picked.length };
}
