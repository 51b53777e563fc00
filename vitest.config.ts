import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons (alsa-capture, rpio) and child processes behave best in forked workers.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests run real processes on shared 2-core machines: a test that fails is run once
    // more, and vitest reports the retry; one that fails twice fails the run.
    retry: 1,
    // Tests must never see a real key from the developer's shell.
    env: { OPENAI_API_KEY: '' },
  },
});
