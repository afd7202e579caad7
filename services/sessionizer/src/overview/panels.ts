/**
 * The overview's panels as data: each is one read-only query over the `sessions` view (plus,
 * for `meta`, the view's column list), shaped for the page. Used by the HTTP handler, the
 * integration test and the benchmark.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { availableDimensions, dimensionOf, type Dimension } from './dimensions.js';
import {
  breakdownsStatement,
  columnsStatement,
  SERIES_PANEL,
  seriesStatement,
  tableStatement,
  teamsStatement,
  tilesStatement,
  CANDIDATE_TABLES,
  type CandidateTable,
  type Scope,
} from './queries.js';
import { readRows } from './read-only.js';
import { formatDate, OverviewInputError, resolvePeriod, type OverviewParams } from './request.js';
import type { Breakdowns, Meta, Series, SeriesPoint, Table, TeamSummary, Tile, TileKey, Tiles } from './api.js';

export * from './api.js';

export interface OverviewSource {
  readonly client: ClickHouseClient;
  /** A validated identifier. */
  readonly database: string;
  /** Today, for a team without data (tests inject it). */
  readonly now?: () => number;
}

const COLUMNS_TTL_MS = 30_000;

/**
 * The data behind the page. Knows the view's columns (cached briefly, reloaded when a request
 * names a column it has not seen), so filters and tables on columns the view lacks are refused.
 */
export class Overview {
  readonly #src: OverviewSource;
  #columns: { at: number; map: Map<string, string>; candidates: CandidateTable | undefined } | undefined;

  constructor(src: OverviewSource) {
    this.#src = src;
  }

  get database(): string {
    return this.#src.database;
  }

  /** The view's columns (name → type). */
  async columns(need: readonly string[] = []): Promise<Map<string, string>> {
    return (await this.#tables(need)).map;
  }

  async #tables(need: readonly string[]): Promise<{ map: Map<string, string>; candidates: CandidateTable | undefined }> {
    const now = Date.now();
    const cached = this.#columns;
    if (cached !== undefined && now - cached.at < COLUMNS_TTL_MS && need.every((c) => cached.map.has(c))) return cached;
    const rows = await readRows<{ table: string; name: string; type: string }>(this.#src.client, columnsStatement(this.#src.database));
    const map = new Map(rows.filter((r) => r.table === 'sessions').map((r) => [r.name, r.type]));
    const usable = (table: CandidateTable): boolean => {
      const names = new Set(rows.filter((r) => r.table === table).map((r) => r.name));
      return ['team_id', 'session_id', 'min_ts'].every((c) => names.has(c));
    };
    // the local table exists in cluster mode only, and is then the one to read (queries.ts)
    const candidates = [...CANDIDATE_TABLES].reverse().find(usable);
    const tables = { at: now, map, candidates };
    this.#columns = tables;
    return tables;
  }

  /** The dimensions the view has; throws when a named one is not among them. */
  async dimensions(need: readonly string[] = []): Promise<Dimension[]> {
    const columns = await this.columns(need);
    if (columns.size === 0) {
      throw new OverviewInputError(
        `there is no sessions view in database ${this.#src.database} yet: run \`sessionizer migrate\` or the service first`,
      );
    }
    const available = availableDimensions(columns);
    for (const c of need) {
      if (!available.some((d) => d.column === c)) throw new OverviewInputError(`column ${c} is not in this sessions view (yet)`);
    }
    return available;
  }

  async meta(p: OverviewParams): Promise<Meta> {
    const [dimensions, teams] = await Promise.all([
      this.dimensions(p.filters.map((f) => f.column)),
      readRows<TeamSummary>(this.#src.client, teamsStatement(this.#src.database)),
    ]);
    const team = p.team ?? teams[0]?.team ?? null;
    const today = formatDate(this.#src.now?.() ?? Date.now());
    const lastDay = teams.find((t) => t.team === team)?.last_day ?? today;
    return {
      database: this.#src.database,
      teams,
      team,
      period: resolvePeriod(p, lastDay),
      dimensions: dimensions.map(({ column, title, label }) => ({ column, title, label })),
      filters: p.filters,
    };
  }

  /** Team and period: the caller's, or the defaults `meta` would choose (one more query). */
  async scope(p: OverviewParams): Promise<Scope> {
    await this.dimensions(p.filters.map((f) => f.column));
    const { candidates } = await this.#tables([]);
    if (p.team !== undefined && p.from !== undefined && p.to !== undefined) {
      return { database: this.#src.database, team: p.team, period: resolvePeriod(p, p.to), filters: p.filters, candidates };
    }
    const meta = await this.meta(p);
    if (meta.team === null) throw new OverviewInputError('there are no sessions yet: give team=<id>');
    return { database: this.#src.database, team: meta.team, period: meta.period, filters: p.filters, candidates };
  }

  async tiles(scope: Scope): Promise<Tiles> {
    const [row] = await readRows<Record<string, number | null>>(this.#src.client, tilesStatement(scope));
    const get = (k: string): number | null => row?.[k] ?? null;
    const ratio = (num: string, den: string): number | null => {
      const n = get(num);
      const d = get(den);
      return n === null || d === null || d === 0 ? null : n / d;
    };
    const tile = (key: TileKey, value: number | null, previous: number | null): Tile => {
      let change: number | null = null;
      if (value !== null && previous !== null) {
        if (key === 'bounce_rate') change = value - previous;
        else if (previous !== 0) change = (value - previous) / previous;
      }
      return { key, value, previous, change };
    };
    const plain = (key: 'sessions' | 'visitors' | 'pageviews' | 'median_duration' | 'avg_duration'): Tile =>
      tile(key, get(key), get(`previous_${key}`));
    return {
      tiles: [
        plain('sessions'),
        plain('visitors'),
        plain('pageviews'),
        plain('median_duration'),
        plain('avg_duration'),
        tile('bounce_rate', ratio('bounces', 'bounce_base'), ratio('previous_bounces', 'previous_bounce_base')),
      ],
    };
  }

  async series(scope: Scope): Promise<Series> {
    return seriesOf(scope, await readRows<SeriesPoint & { bucket: string }>(this.#src.client, seriesStatement(scope)));
  }

  async table(scope: Scope, column: string): Promise<Table> {
    const dimension = dimensionOf(column);
    if (dimension === undefined) throw new OverviewInputError(`dimension ${JSON.stringify(column.slice(0, 60))} is not a table`);
    await this.dimensions([dimension.column]);
    const rows = await readRows<{
      value: string | null;
      sessions: number;
      visitors: number;
      distinct_values: number;
      total_sessions: number;
    }>(this.#src.client, tableStatement(scope, dimension));
    return {
      column: dimension.column,
      rows: rows.map((r) => ({ value: r.value, sessions: r.sessions, visitors: r.visitors })),
      distinct_values: rows[0]?.distinct_values ?? 0,
      total_sessions: rows[0]?.total_sessions ?? 0,
    };
  }

  /** The chart and every table the view can serve, from one statement (`breakdownsStatement`). */
  async breakdowns(scope: Scope): Promise<Breakdowns> {
    const dimensions = await this.dimensions();
    const rows = await readRows<{
      panel: string;
      value: string | null;
      sessions: number;
      visitors: number;
      distinct_values: number;
      total_sessions: number;
    }>(this.#src.client, breakdownsStatement(scope, dimensions));
    const series = seriesOf(
      scope,
      rows
        .filter((r) => r.panel === SERIES_PANEL)
        .map((r) => ({ bucket: r.value ?? '', t: r.value ?? '', sessions: r.sessions, visitors: r.visitors })),
    );
    const tables = dimensions.map((d): Table => {
      const own = rows.filter((r) => r.panel === d.column);
      return {
        column: d.column,
        rows: own.map((r) => ({ value: r.value, sessions: r.sessions, visitors: r.visitors })),
        distinct_values: own[0]?.distinct_values ?? 0,
        total_sessions: own[0]?.total_sessions ?? 0,
      };
    });
    return { series, tables };
  }
}

/** The range's buckets in order, empty ones filled with zeros. */
function seriesOf(scope: Scope, rows: readonly (SeriesPoint & { bucket: string })[]): Series {
  const byBucket = new Map(rows.map((r) => [r.bucket, r]));
  const step = scope.period.bucket === 'hour' ? 3_600_000 : 86_400_000;
  const points: SeriesPoint[] = [];
  const end = Date.parse(`${scope.period.end.replace(' ', 'T')}Z`);
  for (let t = Date.parse(`${scope.period.start.replace(' ', 'T')}Z`); t < end; t += step) {
    const key = new Date(t).toISOString().slice(0, 19).replace('T', ' ');
    const r = byBucket.get(key);
    points.push({ t: key, sessions: r?.sessions ?? 0, visitors: r?.visitors ?? 0 });
  }
  return { bucket: scope.period.bucket, points };
}
