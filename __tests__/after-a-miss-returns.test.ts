import { createMemoizer } from '../lib';
import { pausableServer } from './helpers/pausable-server';
import { settlesWithin, sleep } from './helpers/redis';

// What holds once `await f(x)` returned from a miss whose write Redis has not answered yet (the server
// is paused, SIGSTOP, as `fn` returns; a server of this file's own):
// - in this process, the next call for x hits: its read goes out after the write, on the same
//   connection, and Redis runs one connection's commands in order;
// - in another process (here another memoizer over another connection), a call for x made before the
//   write landed finds the lock still held, waits for its release, and gets the value: fn runs once;
// - with `awaitWrite: true`, `await f(x)` returns only after the write was answered, so the next call
//   anywhere hits.

const own = pausableServer();

/** `lookup` memoized in two "processes" (memoizers over two connections), counting runs and hits. */
function twoProcesses(keyPrefix: string, options: { awaitWrite?: boolean } = {}) {
  let runs = 0;
  let pauseOnRun = true;
  const hits: string[] = [];
  const body = async (id: number) => {
    runs++;
    if (pauseOnRun) own.server.pause();
    return { id };
  };
  const common = { keyPrefix, timeout: '2s', ...options } as const;
  const here = createMemoizer({ client: own.client, ...common, onHit: () => hits.push('here') })(body, {
    name: 'lookup',
  });
  const there = createMemoizer({ client: own.other, ...common, onHit: () => hits.push('there') })(body, {
    name: 'lookup',
  });
  return {
    here,
    there,
    hits,
    runs: () => runs,
    noPause: () => {
      pauseOnRun = false;
    },
  };
}

test('in this process, the next call hits, though the write was not answered when the first returned', async () => {
  const { here, hits, runs } = twoProcesses('after-here');
  const first = here(1);
  expect(await settlesWithin(first, 1000)).toBe(true);
  const next = here(1);
  expect(await settlesWithin(next, 100)).toBe(false);
  own.server.resume();
  expect(await next).toEqual({ id: 1 });
  expect(runs()).toBe(1);
  expect(hits).toEqual(['here']);
});

test('in another process, a call made before the write landed gets the value without running fn', async () => {
  const { here, there, runs } = twoProcesses('after-there');
  expect(await settlesWithin(here(1), 1000)).toBe(true);
  const elsewhere = there(1);
  await sleep(50);
  own.server.resume();
  expect(await elsewhere).toEqual({ id: 1 });
  expect(runs()).toBe(1);
});

test('awaitWrite: true returns once the write was answered; the next call anywhere then hits', async () => {
  const { here, there, hits, runs, noPause } = twoProcesses('after-awaited', { awaitWrite: true });
  const first = here(1);
  expect(await settlesWithin(first, 200)).toBe(false);
  own.server.resume();
  expect(await first).toEqual({ id: 1 });
  noPause();
  expect(await there(1)).toEqual({ id: 1 });
  expect(runs()).toBe(1);
  expect(hits).toEqual(['there']);
});

test('awaitWrite must be true or false', () => {
  expect(() => createMemoizer({ client: own.client, awaitWrite: 'yes' as unknown as boolean })).toThrow(
    /awaitWrite must be true or false/,
  );
});
