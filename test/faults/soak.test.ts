/**
 * The soak's short variant (the long one is `npm run soak -- --minutes 60`, docs/reliability.md):
 * about two minutes of steady load with each fault once — SIGKILL and restart, broker restart,
 * ClickHouse writes failing on a full disk, a rebalance — then exact against the oracle. The
 * trends are printed, not asserted: two minutes say little about growth.
 */
import { describe, expect, it } from 'vitest';
import { soak } from '../soak/soak.js';

describe('soak (short)', () => {
  it('steady load with every fault once: lost 0, doubled 0, exact', async () => {
    const report = await soak({ minutes: 2, rate: 100, seed: Number(process.env['FAULTS_SEED'] ?? 20_261_202), sampleSeconds: 1 });
    const { samples, ...summary } = report;
    console.log(`SOAK-REPORT ${JSON.stringify({ ...summary, samples: samples.length })}`);
    expect(report.faults.map((f) => f.kind).sort()).toEqual(['broker-restart', 'disk-full', 'kill', 'rebalance']);
    expect(report.lost).toBe(0);
    expect(report.doubled).toBe(0);
    expect(report.exact).toBe(true);
    expect(report.finalExit).toBe(0);
    expect(samples.length).toBeGreaterThan(10);
  });
});
