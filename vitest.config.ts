import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure, fast, beside the code) and `integration` (real Kafka broker and
// real ClickHouse engine). The integration global setup provides Kafka or fails the run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'scripts/**/*.test.ts', 'test/repo/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Each test file is its own process: chDB binds one data directory per process.
          pool: 'forks',
        },
      },
      {
        test: {
          // Fault injection (crashes, rebalances, broker restart, ClickHouse outage, hostile input):
          // `npm run test:faults`; FAULTS_SCALE=full for the heavy variants (docs/reliability.md).
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 900_000,
          hookTimeout: 300_000,
          pool: 'forks',
        },
      },
    ],
  },
});
