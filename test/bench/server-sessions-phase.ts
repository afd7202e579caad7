/**
 * `npm run bench`'s server-sessions phase (issue 14): the same events through `sessionizer run`
 * with their client `$session_id` and without it (SERVER_SESSIONS=all), each measured like the
 * bench's other sessionizer runs; and the heap bytes per tracked distinct_id, measured by
 * test/bench/server-sessions.ts (`--only memory`, in its own process: it needs --expose-gc).
 */
import type { Measured } from './measure.js';
import type { RunNode } from './flush-phase.js';

export interface TrackedKeyBytes {
  readonly keys: number;
  readonly heapBytesPerKey: number | null;
  readonly estimatedBytesPerKey: number;
}

export async function trackedKeyBytes(run: RunNode, keys: number): Promise<TrackedKeyBytes | { error: string }> {
  const r = await run('node', [
    '--expose-gc',
    '--import',
    'tsx',
    'test/bench/server-sessions.ts',
    '--only',
    'memory',
    '--keys',
    String(keys),
  ]);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.code !== 0 || line === undefined) return { error: `server-sessions exited with ${r.code}: ${r.stderr.slice(-500)}` };
  const { memory } = JSON.parse(line) as { memory?: TrackedKeyBytes };
  return memory ?? { error: 'no memory figure in its output' };
}

type Run = Measured & { readonly sessions?: number | null };

export interface ServerSessionsPhase {
  readonly events: number;
  /** (team, distinct_id) pairs in the events: what the service tracks (none idle long enough to be evicted). */
  readonly distinctIds: number;
  readonly client: Run & { readonly source: string };
  readonly server: Run;
  /** Server over client: above 1, server-side sessions cost more per event. */
  readonly serverToClientCpuPerEvent: number;
  readonly serverToClientEventsPerSecond: number;
  readonly trackedKeyBytes: TrackedKeyBytes | { error: string };
  /** distinctIds × heap bytes per key: the heap the run's tracked distinct_ids take. */
  readonly trackedHeapBytes: number | null;
  readonly peakRssDifferenceBytes: number;
}

export function serverSessionsPhase(
  events: number,
  distinctIds: number,
  client: Run,
  clientSource: string,
  server: Run,
  memory: TrackedKeyBytes | { error: string },
): ServerSessionsPhase {
  const perKey = 'error' in memory ? null : memory.heapBytesPerKey;
  return {
    events,
    distinctIds,
    client: { ...client, source: clientSource },
    server,
    serverToClientCpuPerEvent: Number((server.cpuSecondsPerMillionEvents / client.cpuSecondsPerMillionEvents).toFixed(2)),
    serverToClientEventsPerSecond: Number((server.eventsPerSecond / client.eventsPerSecond).toFixed(2)),
    trackedKeyBytes: memory,
    trackedHeapBytes: perKey === null ? null : perKey * distinctIds,
    peakRssDifferenceBytes: server.peakRssBytes - client.peakRssBytes,
  };
}

/** The lines of the bench's summary. */
export function serverSessionsSummary(r: ServerSessionsPhase): string[] {
  const who = (name: string, m: Run): string =>
    `server sessions ${name}: ${m.eventsPerSecond} events/s, ${m.cpuSecondsPerMillionEvents} CPU-s per M events` +
    ` (steady: ${m.steady?.cpuSecondsPerMillionEvents ?? '-'}), ${m.sessions ?? '?'} sessions, peak RSS ${Math.round(m.peakRssBytes / 2 ** 20)} MiB, others used ${m.otherCpuSeconds} CPU-s meanwhile`;
  const mem = r.trackedKeyBytes;
  return [
    who('client $session_id', r.client),
    who('none (SERVER_SESSIONS=all)', r.server),
    `server sessions: server/client CPU per event ${r.serverToClientCpuPerEvent}, events/s ${r.serverToClientEventsPerSecond}; ` +
      ('error' in mem
        ? `bytes per tracked distinct_id: ${mem.error}`
        : `${mem.heapBytesPerKey ?? '?'} B of heap per tracked distinct_id (${mem.keys} keys; estimate ${mem.estimatedBytesPerKey} B) × ${r.distinctIds} distinct_ids in the run = ${((r.trackedHeapBytes ?? 0) / 2 ** 20).toFixed(1)} MiB`),
  ];
}
