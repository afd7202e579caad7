/**
 * `npm run fuzz -- --minutes N` (or `--seconds N`): property fuzzing of normalisation and of the
 * SQL handling (test/fuzz/targets.ts) with fast-check, for a time budget shared by the targets by
 * weight. Prints how many inputs each target ran and the total, and one machine-readable line
 * `FUZZ-REPORT {json}`. Exits 1 with the counterexample (shrunk), its seed and path when an input
 * breaks a promise; rerun it with `--seed S --only NAME`.
 *
 * Why fast-check and not a coverage-guided fuzzer: jazzer.js 4.0.0's prebuilt addon needs glibc
 * 2.38 (Debian 12 has 2.36) and older versions download their addon from GitHub at install time,
 * which our machines cannot reach. The inputs are structure-aware mutations of real messages
 * instead (test/fuzz/messages.ts).
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { targets } from './targets.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    only: { type: 'string' },
  },
});
const seconds = values.seconds !== undefined ? Number(values.seconds) : Number(values.minutes ?? '1') * 60;
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error('usage: npm run fuzz -- --minutes N | --seconds N [--seed S] [--only NAME]');
  process.exit(2);
}
const baseSeed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2_147_483_647;
const chosen = targets().filter((t) => values.only === undefined || t.name.includes(values.only));
if (chosen.length === 0) {
  console.error(`no target matches '${values.only ?? ''}'`);
  process.exit(2);
}
const totalWeight = chosen.reduce((a, t) => a + t.weight, 0);
const report: {
  seconds: number;
  seed: number;
  targets: Record<string, { inputs: number; seconds: number; extra?: unknown }>;
  total: number;
} = {
  seconds,
  seed: baseSeed,
  targets: {},
  total: 0,
};
const started = performance.now();
console.log(`fuzz: ${seconds} s over ${chosen.length} targets, seed ${baseSeed}`);
let failed = false;
for (const target of chosen) {
  const budgetMs = (seconds * 1000 * target.weight) / totalWeight;
  const t0 = performance.now();
  await target.setup?.();
  let inputs = 0;
  let batch = 0;
  const arb = target.arbitrary();
  try {
    while (performance.now() - t0 < budgetMs) {
      const seed = (baseSeed + batch * 7919) % 2_147_483_647;
      batch += 1;
      // Batches short enough to stop close to the budget, each with its own seed.
      const result = await fc.check(
        fc.asyncProperty(arb, async (input) => target.check(input)),
        {
          numRuns: 200,
          seed,
          endOnFailure: false,
          plugins: [fc.interruptAfterTimeLimit(Math.max(1, budgetMs - (performance.now() - t0)))],
        },
      );
      inputs += result.numRuns;
      // fast-check reports an interrupted batch with no successful run as failed, without a
      // counterexample (RunExecution: interruptedAsFailure || numSuccesses === 0): that is the
      // time budget ending inside a batch's first input (a slow input on a busy machine), not a
      // finding. Seen twice in the CI short run (read-only SQL on the engine, a few ms an input).
      if (result.interrupted && result.counterexamplePath === null) break;
      if (result.failed) {
        failed = true;
        console.error(`\nfuzz: ${target.name} FAILED after ${inputs} inputs (seed ${seed}, path ${result.counterexamplePath ?? '?'})`);
        console.error(`counterexample: ${(JSON.stringify(result.counterexample) as string | undefined)?.slice(0, 4000) ?? '?'}`);
        console.error(
          String(
            result.errorInstance instanceof Error ? (result.errorInstance.stack ?? result.errorInstance.message) : result.errorInstance,
          ),
        );
        break;
      }
    }
  } finally {
    await target.teardown?.();
  }
  const took = (performance.now() - t0) / 1000;
  const extra = (target as { outcomes?: unknown }).outcomes;
  report.targets[target.name] = { inputs, seconds: Math.round(took), ...(extra === undefined ? {} : { extra }) };
  report.total += inputs;
  console.log(
    `fuzz: ${target.name}: ${inputs.toLocaleString('en-US')} inputs in ${took.toFixed(0)} s${extra === undefined ? '' : ` ${JSON.stringify(extra)}`}`,
  );
  if (failed) break;
}
console.log(
  `fuzz: ${report.total.toLocaleString('en-US')} inputs in ${((performance.now() - started) / 1000).toFixed(0)} s${failed ? ', FAILED' : ', no failure'}`,
);
console.log(`FUZZ-REPORT ${JSON.stringify(report)}`);
process.exit(failed ? 1 : 0);
