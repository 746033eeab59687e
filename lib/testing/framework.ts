import assert from 'node:assert/strict';
import type { Begin } from '../stores/store';

/** The test functions the suite registers with: jest's, vitest's, mocha's or `node:test`'s. */
export interface ContractFramework {
  describe(name: string, body: () => void): unknown;
  test(name: string, body: () => Promise<void>): unknown;
  beforeEach(body: () => Promise<void> | void): unknown;
  afterEach(body: () => Promise<void> | void): unknown;
}

/** A lifetime long enough for any test. */
export const MINUTE = 60_000;

/** The token of a begin that must have created or found one. */
export function tokenOf(begun: Begin): string {
  assert.equal(typeof begun.token, 'string', 'begin must hand out a token when there is no value');
  return begun.token as string;
}
