/**
 * What one background merge of `sessions_raw` costs in memory on the embedded engine, per table
 * setting: `npm run bench:merge-memory -- [--parts K] [--events-per-part N] [--active-sessions A]
 * [--config 'name:setting=value,setting=value']...`.
 *
 * For each configuration, in a fresh process (VmHWM is per process): migrate a database as the
 * service's embedded engine does (migration 0004's settings included), apply the configuration's
 * settings with ALTER TABLE sessions_raw MODIFY SETTING, stop merges, write K
 * parts through the sink's INSERT (each the partial rows of N events from A active sessions, as
 * a flush of the service writes them), then reset the process's peak RSS (/proc/self/clear_refs),
 * start merges and run OPTIMIZE TABLE … FINAL: the peak RSS over the RSS before the merge is what
 * merging those K parts took. The same events for every configuration. Prints one line per
 * configuration and `MERGE-MEMORY {...}`. Nothing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { generate } from '@sessionizer/generator';
import { normalize, SessionBuffer } from '@sessionizer/core';
import { migrate } from '@sessionizer/clickhouse';
import { COMMON_SETTINGS, INSERT_CALL_SETTINGS, names, partialInsertSql, toPartialRow } from '@sessionizer/clickhouse/testing';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  options: {
    parts: { type: 'string' },
    'events-per-part': { type: 'string' },
    'active-sessions': { type: 'string' },
    config: { type: 'string', multiple: true },
    child: { type: 'string' },
  },
});
const PARTS = Number(values.parts ?? 12);
const PER_PART = Number(values['events-per-part'] ?? 80_000);
const ACTIVE = Number(values['active-sessions'] ?? 2_000);
const MiB = 2 ** 20;

function status(key: string): number {
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** system.parts sums (UInt64: a number or a string, depending on the output settings). */
interface PartsRow {
  readonly parts: number | string;
  readonly rows: number | string;
  readonly types: string;
  readonly bytes: number | string;
}

interface Result {
  readonly config: string;
  readonly settings: string;
  readonly parts: number;
  readonly rows: number;
  readonly partTypes: string;
  readonly rssBeforeMergeBytes: number;
  readonly mergePeakOverRssBytes: number;
  readonly mergeSeconds: number;
  readonly mergedPartType: string;
  readonly bytesOnDisk: number;
  readonly peakRssBytes: number;
}

async function child(spec: string): Promise<Result> {
  const [name = 'default', settings = ''] = spec.split(':');
  const dir = mkdtempSync(join(tmpdir(), 'bench-merge-memory-'));
  const client: ClickHouseClient = createClient({
    clickhouse_settings: COMMON_SETTINGS,
    connection: createChdbConnection({ path: dir }) as never,
  });
  const exec = async (query: string, body?: string): Promise<void> => {
    const r = await client.exec({
      query,
      ...(body === undefined ? {} : { values: Readable.from([body], { objectMode: false }) }),
      clickhouse_settings: INSERT_CALL_SETTINGS,
    });
    r.stream.destroy();
  };
  const rowsOf = async <T>(query: string): Promise<T[]> => (await client.query({ query, format: 'JSONEachRow' })).json<T>();
  try {
    const db = 'mergemem';
    await migrate(client, { database: db, embedded: true }); // the service's table: 0004's settings apply
    const raw = names({ database: db }).raw;
    if (settings !== '') await exec(`ALTER TABLE ${raw} MODIFY SETTING ${settings}`);
    await exec(`SYSTEM STOP MERGES ${raw}`);
    const messages = generate({ seed: 21, format: 'posthog-events', events: PARTS * PER_PART, activeSessions: ACTIVE });
    for (let p = 0; p < PARTS; p += 1) {
      const buffer = new SessionBuffer();
      for (let i = 0; i < PER_PART; i += 1) {
        const m = messages.next();
        if (m.done === true) break;
        const r = normalize('posthog-events', m.value.value);
        if (r.ok) buffer.add(r.event);
      }
      const body = buffer
        .drain()
        .map((s) => JSON.stringify(toPartialRow(s)))
        .join('\n');
      await exec(partialInsertSql(names({ database: db }).input), `${body}\n`);
    }
    const partsQuery = `SELECT count() AS parts, sum(rows) AS rows, arrayStringConcat(groupUniqArray(part_type), '/') AS types, sum(bytes_on_disk) AS bytes
      FROM system.parts WHERE database = '${db}' AND table = 'sessions_raw' AND active`;
    const [before] = await rowsOf<PartsRow>(partsQuery);
    global.gc?.();
    await new Promise((r) => setTimeout(r, 500));
    const rssBefore = status('VmRSS');
    writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
    const t = performance.now();
    await exec(`SYSTEM START MERGES ${raw}`);
    await exec(`OPTIMIZE TABLE ${raw} FINAL`);
    const mergeSeconds = (performance.now() - t) / 1000;
    const peak = status('VmHWM');
    const [after] = await rowsOf<PartsRow>(partsQuery);
    return {
      config: name,
      settings,
      parts: Number(before?.parts ?? 0),
      rows: Number(before?.rows ?? 0),
      partTypes: before?.types ?? '',
      rssBeforeMergeBytes: rssBefore,
      mergePeakOverRssBytes: peak - rssBefore,
      mergeSeconds: Number(mergeSeconds.toFixed(2)),
      mergedPartType: after?.types ?? '',
      bytesOnDisk: Number(after?.bytes ?? 0),
      peakRssBytes: peak,
    };
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.child !== undefined) {
  console.log(`RESULT ${JSON.stringify(await child(values.child))}`);
} else {
  const configs = values.config ?? ['default:'];
  const results: Result[] = [];
  for (const spec of configs) {
    const r = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--child',
        spec,
        '--parts',
        String(PARTS),
        '--events-per-part',
        String(PER_PART),
        '--active-sessions',
        String(ACTIVE),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * MiB },
    );
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (line === undefined) {
      console.log(`${spec}: failed (${r.status}) ${r.stdout.slice(-500)}`);
      continue;
    }
    const res = JSON.parse(line.slice('RESULT '.length)) as Result;
    results.push(res);
    console.log(
      `${res.config.padEnd(24)} ${res.parts} ${res.partTypes} parts, ${res.rows} rows: merge +${Math.round(res.mergePeakOverRssBytes / MiB)} MiB over ${Math.round(res.rssBeforeMergeBytes / MiB)} MiB RSS, ${res.mergeSeconds} s → ${res.mergedPartType}, ${(res.bytesOnDisk / 1e6).toFixed(1)} MB on disk  [${res.settings}]`,
    );
  }
  console.log(`MERGE-MEMORY ${JSON.stringify({ parts: PARTS, eventsPerPart: PER_PART, activeSessions: ACTIVE, results })}`);
}
