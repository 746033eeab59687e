import { createMemoizer, type MemoizeError } from '../lib';
import { pausableServer } from './helpers/pausable-server';
import { deferred, settlesWithin, sleep } from './helpers/redis';

// A miss's caller gets its result once `fn` succeeded and the write is sent, not once Redis answered
// it; callers who joined its flight still wait for the answer, and run again when the write was
// refused (the entry was invalidated while `fn` ran). The server is paused (SIGSTOP) as `fn` returns,
// so the write cannot be answered until it resumes; a server of this file's own.

const own = pausableServer();

test('the caller has its result while the write waits for a paused server; a joiner waits for the write', async () => {
  const release = deferred<void>();
  let runs = 0;
  const memoize = createMemoizer({ client: own.client, keyPrefix: 'sent-joined', timeout: '2s' });
  const f = memoize(
    async (id: number) => {
      runs++;
      await release.promise;
      own.server.pause();
      return { id, run: runs };
    },
    { name: 'lookup' },
  );
  const owner = f(1);
  await sleep(50);
  const joiner = f(1);
  release.resolve();
  expect(await settlesWithin(owner, 1000)).toBe(true);
  expect(await owner).toEqual({ id: 1, run: 1 });
  // The write is not answered yet: the joiner waits for it.
  expect(await settlesWithin(joiner, 200)).toBe(false);
  own.server.resume();
  expect(await joiner).toEqual({ id: 1, run: 1 });
  expect(runs).toBe(1);
  expect(await own.client.get(f.keyFor(1))).not.toBeNull();
});

test('a write refused because the entry was invalidated meanwhile: the caller has its result, the joiner runs again', async () => {
  const release = deferred<void>();
  let runs = 0;
  const body = async (id: number) => {
    runs++;
    if (runs === 1) {
      await release.promise;
      // Another process invalidates while fn runs: this computation's token is gone.
      await elsewhere.invalidate(id);
      own.server.pause();
    }
    return { id, run: runs };
  };
  const f = createMemoizer({ client: own.client, keyPrefix: 'sent-refused', timeout: '2s' })(body, { name: 'lookup' });
  const elsewhere = createMemoizer({ client: own.other, keyPrefix: 'sent-refused' })(body, { name: 'lookup' });
  const owner = f(1);
  await sleep(50);
  const joiner = f(1);
  release.resolve();
  expect(await settlesWithin(owner, 1000)).toBe(true);
  expect(await owner).toEqual({ id: 1, run: 1 });
  expect(await settlesWithin(joiner, 200)).toBe(false);
  own.server.resume();
  expect(await joiner).toEqual({ id: 1, run: 2 });
  expect(runs).toBe(2);
});

test('a write that fails after the caller had its result is reported to onError, never rejected', async () => {
  const errors: MemoizeError[] = [];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    const memoize = createMemoizer({
      client: own.client,
      keyPrefix: 'sent-failed',
      timeout: 100,
      circuitBreaker: false,
      onError: ({ error }) => errors.push(error),
    });
    const f = memoize(
      async (id: number) => {
        own.server.pause();
        return { id };
      },
      { name: 'lookup' },
    );
    expect(await f(1)).toEqual({ id: 1 });
    expect(errors).toEqual([]);
    await sleep(300);
    // The write, reported once: the lock's release that its failure sends times out for the same
    // outage, and is not reported again.
    expect(errors.map((e) => e.code)).toEqual(['E_TIMEOUT']);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/store write did not answer/)]);
    own.server.resume();
    await sleep(50);
    expect(rejections).toEqual([]);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
});
