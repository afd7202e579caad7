/**
 * The overview's breakdown tables, and the allow-list of filterable columns: a filter or a
 * table names one of these columns, or it is refused. Columns the `sessions` view does not have
 * (yet) are left out at load time, so panels appear when a migration adds their column.
 */
export interface Dimension {
  /** Column of the `sessions` view; also the filter's URL parameter name. */
  readonly column: string;
  /** Table title on the page. */
  readonly title: string;
  /** Heading of the value column. */
  readonly label: string;
}

export const DIMENSIONS: readonly Dimension[] = [
  { column: 'channel_type', title: 'Channels', label: 'Channel' },
  { column: 'entry_referring_domain', title: 'Referring domains', label: 'Domain' },
  { column: 'entry_pathname', title: 'Entry paths', label: 'Path' },
  { column: 'exit_pathname', title: 'Exit paths', label: 'Path' },
  { column: 'entry_utm_source', title: 'UTM sources', label: 'Source' },
  { column: 'entry_utm_campaign', title: 'UTM campaigns', label: 'Campaign' },
  { column: 'device_type', title: 'Device types', label: 'Device' },
  { column: 'browser', title: 'Browsers', label: 'Browser' },
  { column: 'os', title: 'Operating systems', label: 'OS' },
  { column: 'geoip_country_code', title: 'Countries', label: 'Country' },
];

const BY_COLUMN = new Map(DIMENSIONS.map((d) => [d.column, d]));

export function dimensionOf(column: string): Dimension | undefined {
  return BY_COLUMN.get(column);
}

/** Types a dimension column may have: strings, possibly nullable or low-cardinality. */
const STRING_TYPE = /^(LowCardinality\()?(Nullable\()?String\)?\)?$/;

/** The dimensions the view can serve, given its columns (name → ClickHouse type). */
export function availableDimensions(columns: ReadonlyMap<string, string>): Dimension[] {
  return DIMENSIONS.filter((d) => STRING_TYPE.test(columns.get(d.column) ?? ''));
}
