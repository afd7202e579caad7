/**
 * The overview's inputs, from a URL's query string: team, date range and filters. Everything is
 * checked here (syntax, calendar dates, allow-listed filter columns, sizes); the values then go
 * to ClickHouse only as bound query parameters. The page's URL and the API's use the same names,
 * so a page URL is a shareable view:
 *
 *   ?team=1&from=2026-11-14&to=2026-11-20&channel_type=Paid%20Search&null=entry_utm_source
 *
 * `<column>=<value>` keeps sessions whose column equals the value; `null=<column>` keeps those
 * whose column is NULL (the "(none)" row of a table). Dates are UTC days, both ends included.
 */
import { dimensionOf, DIMENSIONS } from './dimensions.js';

export class OverviewInputError extends Error {
  override readonly name = 'OverviewInputError';
}

export interface Filter {
  /** An allow-listed dimension column (never the caller's string: the catalog's). */
  readonly column: string;
  /** null: the column IS NULL. */
  readonly value: string | null;
}

export interface OverviewParams {
  /** Team id, decimal digits. */
  readonly team: string | undefined;
  /** YYYY-MM-DD, inclusive. */
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly filters: readonly Filter[];
  /** Endpoint-specific parameters the caller allowed (e.g. `dimension`). */
  readonly extra: ReadonlyMap<string, string>;
}

/** Longest filter value accepted: the pipeline keeps URLs up to 8 KiB. */
export const MAX_FILTER_CHARS = 8_192;
/** Longest date range, in days. */
const MAX_RANGE_DAYS = 3_660;
const DAY_MS = 86_400_000;
const INT64_MAX = 9_223_372_036_854_775_807n;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MIN_DATE = '1970-01-01';
const MAX_DATE = '2200-12-31';

/** Milliseconds of a valid YYYY-MM-DD (UTC midnight), or an error naming the parameter. */
function parseDate(name: string, value: string): number {
  const m = DATE_RE.exec(value);
  if (m === null) throw new OverviewInputError(`${name} must be a date YYYY-MM-DD, got ${quote(value)}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  if (formatDate(ms) !== value) throw new OverviewInputError(`${name} is not a calendar date: ${quote(value)}`);
  if (value < MIN_DATE || value > MAX_DATE)
    throw new OverviewInputError(`${name} must be between ${MIN_DATE} and ${MAX_DATE}, got ${value}`);
  return ms;
}

export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A bounded, printable rendering of a caller's value for error messages. */
function quote(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return JSON.stringify(shown);
}

const RESERVED = new Set(['team', 'from', 'to', 'null']);

export function parseParams(search: URLSearchParams, allowedExtra: readonly string[] = []): OverviewParams {
  const seen = new Set<string>();
  const filters: Filter[] = [];
  const extra = new Map<string, string>();
  let team: string | undefined;
  let from: string | undefined;
  let to: string | undefined;
  const filterNames = DIMENSIONS.map((d) => d.column).join(', ');
  for (const [key, value] of search) {
    const once = (): void => {
      if (seen.has(key)) throw new OverviewInputError(`parameter ${quote(key)} given more than once`);
      seen.add(key);
    };
    if (key === 'team') {
      once();
      if (!/^\d{1,19}$/.test(value) || BigInt(value) > INT64_MAX)
        throw new OverviewInputError(`team must be a team id (digits), got ${quote(value)}`);
      team = value.replace(/^0+(?=\d)/, '');
    } else if (key === 'from' || key === 'to') {
      once();
      parseDate(key, value);
      if (key === 'from') from = value;
      else to = value;
    } else if (key === 'null') {
      const d = dimensionOf(value);
      if (d === undefined) throw new OverviewInputError(`null=${quote(value)}: not a filterable column (one of ${filterNames})`);
      if (filters.some((f) => f.column === d.column)) throw new OverviewInputError(`${d.column} is filtered more than once`);
      filters.push({ column: d.column, value: null });
    } else if (allowedExtra.includes(key)) {
      once();
      extra.set(key, value);
    } else {
      const d = RESERVED.has(key) ? undefined : dimensionOf(key);
      if (d === undefined) throw new OverviewInputError(`unknown parameter ${quote(key)}: filters are ${filterNames}, or null=<column>`);
      if (filters.some((f) => f.column === d.column)) throw new OverviewInputError(`${d.column} is filtered more than once`);
      if (value.length > MAX_FILTER_CHARS) throw new OverviewInputError(`filter ${d.column} is longer than ${MAX_FILTER_CHARS} characters`);
      filters.push({ column: d.column, value });
    }
  }
  if (from !== undefined && to !== undefined) {
    if (from > to) throw new OverviewInputError(`from (${from}) is after to (${to})`);
    if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) throw new OverviewInputError(`the date range is longer than ${MAX_RANGE_DAYS} days`);
  }
  return { team, from, to, filters, extra };
}

function daysBetween(from: string, to: string): number {
  return Math.round((parseDate('to', to) - parseDate('from', from)) / DAY_MS);
}

/** A resolved range: inclusive UTC days, and the previous period of equal length before it. */
export interface Period {
  readonly from: string;
  readonly to: string;
  readonly days: number;
  /** `YYYY-MM-DD 00:00:00` bounds: [start, end) for the range, [previousStart, start) before it. */
  readonly start: string;
  readonly end: string;
  readonly previousStart: string;
  readonly previousFrom: string;
  readonly previousTo: string;
  /** Chart buckets: hours for ranges of up to two days, else days. */
  readonly bucket: 'hour' | 'day';
}

/** Days shown when the range is not given: the last 7 days that have data. */
const DEFAULT_DAYS = 7;

/**
 * The range to show: the caller's (from/to), or one of DEFAULT_DAYS ending on `lastDay` (the
 * last day with data, else today). One given end fixes the other at DEFAULT_DAYS.
 */
export function resolvePeriod(p: Pick<OverviewParams, 'from' | 'to'>, lastDay: string): Period {
  let fromMs: number;
  let toMs: number;
  if (p.from !== undefined && p.to !== undefined) {
    fromMs = parseDate('from', p.from);
    toMs = parseDate('to', p.to);
  } else if (p.from !== undefined) {
    fromMs = parseDate('from', p.from);
    toMs = fromMs + (DEFAULT_DAYS - 1) * DAY_MS;
  } else {
    toMs = parseDate('to', p.to ?? lastDay);
    fromMs = toMs - (DEFAULT_DAYS - 1) * DAY_MS;
  }
  const days = Math.round((toMs - fromMs) / DAY_MS) + 1;
  const stamp = (ms: number): string => `${formatDate(ms)} 00:00:00`;
  return {
    from: formatDate(fromMs),
    to: formatDate(toMs),
    days,
    start: stamp(fromMs),
    end: stamp(toMs + DAY_MS),
    previousStart: stamp(fromMs - days * DAY_MS),
    previousFrom: formatDate(fromMs - days * DAY_MS),
    previousTo: formatDate(fromMs - DAY_MS),
    bucket: days <= 2 ? 'hour' : 'day',
  };
}
