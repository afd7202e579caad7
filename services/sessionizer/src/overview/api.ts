/**
 * The overview API's response shapes, shared by the server (panels.ts) and the page (page/):
 * types only, no imports that need Node.
 */
import type { Dimension } from './dimensions.js';
import type { Filter, Period } from './request.js';

export interface TeamSummary {
  readonly team: string;
  readonly sessions: number;
  readonly first_day: string;
  readonly last_day: string;
}

export interface Meta {
  readonly database: string;
  readonly teams: readonly TeamSummary[];
  /** The team shown: the requested one, else the one with the most sessions; null without data. */
  readonly team: string | null;
  readonly period: Period;
  readonly dimensions: readonly Pick<Dimension, 'column' | 'title' | 'label'>[];
  readonly filters: readonly Filter[];
}

export const TILE_KEYS = ['sessions', 'visitors', 'pageviews', 'median_duration', 'avg_duration', 'bounce_rate'] as const;
export type TileKey = (typeof TILE_KEYS)[number];

export interface Tile {
  readonly key: TileKey;
  readonly value: number | null;
  readonly previous: number | null;
  /** Relative change ((value − previous) / previous) or, for bounce_rate, the difference; null when undefined. */
  readonly change: number | null;
}

export interface Tiles {
  readonly tiles: readonly Tile[];
}

export interface SeriesPoint {
  /** Bucket start, `YYYY-MM-DD HH:MM:SS` UTC. */
  readonly t: string;
  readonly sessions: number;
  readonly visitors: number;
}

export interface Series {
  readonly bucket: Period['bucket'];
  readonly points: readonly SeriesPoint[];
}

export interface TableRow {
  readonly value: string | null;
  readonly sessions: number;
  readonly visitors: number;
}

export interface Table {
  readonly column: string;
  readonly rows: readonly TableRow[];
  /** Distinct values of the column for these filters (the table shows the top ones). */
  readonly distinct_values: number;
  readonly total_sessions: number;
}

/** The chart and every table, as one response (one statement: queries.ts, breakdownsStatement). */
export interface Breakdowns {
  readonly series: Series;
  readonly tables: readonly Table[];
}
