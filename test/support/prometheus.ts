/**
 * The one Prometheus text-exposition reader of the tests and benchmarks: parse a scrape into
 * samples, sum a metric over its series, split a counter by one label, fetch a scrape.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}

/** Every sample line, and the metric names declared by `# TYPE`. Throws on a line that is neither. */
export function parseExposition(text: string): { samples: Sample[]; declared: Set<string> } {
  const samples: Sample[] = [];
  const declared = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) declared.add(line.split(' ')[2] ?? '');
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (m?.[1] === undefined || m[3] === undefined) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, '$1');
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, declared };
}

/** The label sets of each sample name. */
export function seriesOf(samples: readonly Sample[]): Map<string, Labels[]> {
  const series = new Map<string, Labels[]>();
  for (const s of samples) series.set(s.name, [...(series.get(s.name) ?? []), s.labels]);
  return series;
}

/** Sum of every sample of a metric, or of those that carry all of `labels`. */
export function metricSum(text: string, name: string, labels: Labels = {}): number {
  return parseExposition(text)
    .samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** label value → value, of the samples of a metric with a value above 0 (a counter by reason, say). */
export function metricBy(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of parseExposition(text).samples) {
    const key = s.labels[label];
    if (s.name === name && key !== undefined && s.value > 0) out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** The scrape of a service's /metrics. */
export async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}
