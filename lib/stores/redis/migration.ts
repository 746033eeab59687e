import { setTimeout as sleep } from 'node:timers/promises';
import { deletedKeysOf } from '../../key';
import { isTryAgain } from './replies';

// A Redis Cluster slot being migrated answers TRYAGAIN to a multi-key command whose keys are split
// between the two masters. Its keys move in batches: a few short tries cover most, and the caller's
// deadline the rest.
const MIGRATING_TRIES = 5;
const MIGRATING_PAUSE_MS = 10;

/** Runs `command` again, after a short pause, while the cluster answers `TRYAGAIN`. */
export async function whileMigrating<T>(command: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await command();
    } catch (error) {
      if (tries >= MIGRATING_TRIES || !isTryAgain(error)) throw error;
      await sleep(MIGRATING_PAUSE_MS * tries);
    }
  }
}

/** The keys {@link deletedKeysOf} names, the token first: the order to delete them in one at a time. */
export function tokenFirst(valueKey: string): string[] {
  const [value, token, ...rest] = deletedKeysOf(valueKey) as [string, string, ...string[]];
  return [token, value, ...rest];
}
