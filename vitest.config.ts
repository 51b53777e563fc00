import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons (alsa-capture, rpio) and child processes behave best in forked workers.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests must never see a real key from the developer's shell.
    env: { OPENAI_API_KEY: '' },
  },
});
