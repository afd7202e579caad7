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
    ],
  },
});
