import { expect } from 'vitest';

/** Delays from core/backoff (equal jitter): each is between half and all of its doubling step. */
export function expectJitteredSteps(delays: unknown[], steps: number[]): void {
  expect(delays.length).toBeGreaterThanOrEqual(steps.length);
  steps.forEach((step, i) => expect(delays[i], `delay ${i + 1} (step ${step} ms)`).toSatisfy((d: number) => d >= step / 2 && d <= step));
}
