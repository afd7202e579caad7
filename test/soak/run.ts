/**
 * `npm run soak -- --minutes N [--seed S] [--rate R]`: the soak (test/soak/soak.ts). Prints the
 * faults, lost/doubled against the oracle, the trends of RSS, heap, buffered bytes and lag, and
 * one machine-readable line `SOAK-REPORT {json}` (the samples too). Exits 1 unless the end state
 * is exact (lost 0, doubled 0, every row equal) and the service stopped cleanly.
 */
import { parseArgs } from 'node:util';
import { soak } from './soak.js';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, seed: { type: 'string' }, rate: { type: 'string' } } });
const minutes = Number(values.minutes ?? '5');
const rate = Number(values.rate ?? '150');
const seed = Number(values.seed ?? String(Date.now() % 1_000_000_007));
if (!(minutes > 0) || !(rate > 0) || !Number.isInteger(seed)) {
  console.error('usage: npm run soak -- --minutes N [--seed S] [--rate MESSAGES_PER_SECOND]');
  process.exit(2);
}
const report = await soak({ minutes, rate, seed });
console.log(
  `soak: ${report.produced} messages (${report.produceFailures} sends retried), ${report.instances} service instances, ${report.durationS} s`,
);
for (const f of report.faults)
  console.log(`soak: fault ${f.kind} at ${f.atS} s, took ${f.tookS} s${f.detail === undefined ? '' : ` (${f.detail})`}`);
console.log(
  `soak: sessions ${report.actualSessions} = oracle ${report.expectedSessions}: lost ${report.lost}, doubled ${report.doubled}, exact ${report.exact}`,
);
for (const t of report.trends) {
  console.log(
    `soak: trend ${t.series}: mean ${t.mean}, slope ${t.slopePerHour}/h, ${(t.relativeGrowth * 100).toFixed(1)} % over the span → ${t.verdict} (${t.samples} samples)`,
  );
}
console.log(`SOAK-REPORT ${JSON.stringify(report)}`);
process.exit(report.lost === 0 && report.doubled === 0 && report.exact && report.finalExit === 0 ? 0 : 1);
