/**
 * `npm run bench`'s flush phase (issue 11): the write cost of schema v1 against the current schema
 * on the bench's own short topic, in the same run. It runs test/bench/flush-cost.ts (one process,
 * the embedded engine in it) on the short topic's events — the same generator settings, so the
 * same messages — split into as many flushes as the sessionizer made on that topic, and returns
 * its per-schema totals with the CPU the rest of the machine used meanwhile.
 */
import { machineBusySeconds } from './measure.js';

export type RunNode = (cmd: string, args: string[]) => Promise<{ code: number | null; stdout: string; stderr: string }>;

export interface FlushPhaseOptions {
  readonly events: number;
  readonly seed: number;
  readonly activeSessions: number;
  readonly eventsPerFlush: number;
  /** Flushes the sessionizer made on the short topic (where eventsPerFlush came from), if known. */
  readonly serviceFlushes: number | null;
}

interface SchemaTotals {
  readonly writeWallSeconds: number;
  readonly writeCpuSeconds: number;
  readonly writeCpuMicrosPerRow: number;
  readonly jsonBytes: number;
  readonly partsBeforeMerge: number;
  readonly bytesOnDiskBeforeMerge: number;
  readonly mergeWallSeconds: number;
  readonly mergeCpuSeconds: number;
  readonly bytesOnDiskAfterMerge: number;
  readonly sessions: number;
}

export interface FlushPhase {
  readonly events: number;
  readonly flushes: number;
  readonly rowsPerFlush: number;
  readonly perSchema: { readonly v1: SchemaTotals; readonly v2: SchemaTotals };
  readonly oracleCheck: { readonly sessions: number; readonly different: number };
  readonly processCpuSeconds: number;
  /** The current schema's figure over v1's (below 1: the current schema is cheaper). */
  readonly v2ToV1: Readonly<Record<string, number | null>>;
  readonly otherCpuSeconds: number;
  readonly seconds: number;
  readonly serviceFlushes: number | null;
  readonly source: string;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? Number((a / b).toFixed(2)) : null);

export async function flushPhase(run: RunNode, o: FlushPhaseOptions): Promise<FlushPhase | { error: string }> {
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const r = await run('tsx', [
    'test/bench/flush-cost.ts',
    '--events',
    String(o.events),
    '--seed',
    String(o.seed),
    '--active-sessions',
    String(o.activeSessions),
    '--events-per-flush',
    String(o.eventsPerFlush),
  ]);
  const seconds = (performance.now() - t0) / 1000;
  const busy = machineBusySeconds() - busy0;
  const line = r.stdout.split('\n').find((l) => l.startsWith('FLUSH-COST '));
  if (r.code !== 0 || line === undefined) return { error: `flush-cost exited with ${r.code}: ${r.stderr.slice(-500)}` };
  const report = JSON.parse(line.slice('FLUSH-COST '.length)) as Omit<
    FlushPhase,
    'v2ToV1' | 'otherCpuSeconds' | 'seconds' | 'serviceFlushes' | 'source'
  >;
  const { v1, v2 } = report.perSchema;
  return {
    ...report,
    serviceFlushes: o.serviceFlushes,
    source: 'the short topic’s events (its generator settings), split evenly into the sessionizer’s flush count on that topic',
    v2ToV1: {
      writeWallSeconds: ratio(v2.writeWallSeconds, v1.writeWallSeconds),
      writeCpuSeconds: ratio(v2.writeCpuSeconds, v1.writeCpuSeconds),
      jsonBytes: ratio(v2.jsonBytes, v1.jsonBytes),
      bytesOnDiskBeforeMerge: ratio(v2.bytesOnDiskBeforeMerge, v1.bytesOnDiskBeforeMerge),
      mergeCpuSeconds: ratio(v2.mergeCpuSeconds, v1.mergeCpuSeconds),
      bytesOnDiskAfterMerge: ratio(v2.bytesOnDiskAfterMerge, v1.bytesOnDiskAfterMerge),
    },
    seconds: Number(seconds.toFixed(2)),
    otherCpuSeconds: Number((busy - report.processCpuSeconds).toFixed(2)),
  };
}

/** The lines of the bench's summary. */
export function flushSummary(r: FlushPhase | { error: string }): string[] {
  if ('error' in r) return [`write cost v1 vs v2: ${r.error}`];
  const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
  const line = (name: string, s: SchemaTotals): string =>
    `write cost ${name}: serialise + insert ${s.writeWallSeconds} s wall, ${s.writeCpuSeconds} CPU-s (${s.writeCpuMicrosPerRow} µs/row), ` +
    `${mb(s.jsonBytes)} JSON, ${s.partsBeforeMerge} parts ${mb(s.bytesOnDiskBeforeMerge)} on disk; merge ${s.mergeWallSeconds} s, ` +
    `${s.mergeCpuSeconds} CPU-s → ${mb(s.bytesOnDiskAfterMerge)} (${Math.round(s.bytesOnDiskAfterMerge / Math.max(1, s.sessions))} B/session)`;
  return [
    `write cost: ${r.events} events of the short topic in ${r.flushes} flushes (${r.rowsPerFlush} partial rows each), v1 (argMin/argMax) vs v2 (current), others used ${r.otherCpuSeconds} CPU-s meanwhile`,
    line('v1', r.perSchema.v1),
    line('v2', r.perSchema.v2),
    `write cost v2/v1: ${JSON.stringify(r.v2ToV1)}; v2 sessions = oracle: ${r.oracleCheck.sessions} sessions, ${r.oracleCheck.different} different`,
  ];
}
