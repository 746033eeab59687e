import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeadlineQueue, deadlineQueue, type Timed } from '../lib/deadline';

// Real timers with short deadlines. A timer may fire up to SLACK_MS (1 ms) early by design, and late
// by however busy the machine is; LATE_MS is that allowance where a test waits out a deadline. An
// expiry itself may be later still on a loaded machine (the whole suite on 2 cores): a timer 25 ms
// late happens there, and the queue reads a timer more than 20 ms late as a blocked event loop,
// which gives pending items one more while, up to as long again. Expiries 51 ms late were seen, and
// one after a test's fixed wait of 35 ms; so tests wait for an expiry itself (`untilExpired`), and
// EXPIRED_BY_MS bounds how late it may be.
const LATE_MS = 35;
const EXPIRED_BY_MS = 90;

// A full garbage collection, to tell what the queue still holds on to.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Bytes in V8's large-object space after a full collection: where an array of many thousand slots lives. */
async function largeObjectBytes(): Promise<number> {
  // WeakRef targets stay alive until the current job ends.
  await new Promise<void>((resolve) => setImmediate(resolve));
  gc();
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'large_object_space');
  return space?.space_used_size ?? 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Probe extends Timed {
  readonly name: string;
  /** `performance.now()` when expire() ran, if it did. */
  expiredAt: number | undefined;
  expireCalls: number;
  /** Whether `settled` was already true when expire() ran (the queue's contract). */
  settledWhenExpired: boolean | undefined;
}

function probe(queue: DeadlineQueue, name: string, onExpire?: (self: Probe) => void): Probe {
  const item: Probe = {
    name,
    expiresAt: queue.expiresAt(),
    settled: false,
    expiredAt: undefined,
    expireCalls: 0,
    settledWhenExpired: undefined,
    expire() {
      item.expireCalls++;
      item.expiredAt = performance.now();
      item.settledWhenExpired = item.settled;
      onExpire?.(item);
    },
  };
  return item;
}

/** Waits until `item` has expired, or until EXPIRED_BY_MS past its deadline. */
async function untilExpired(item: Probe): Promise<void> {
  while (item.expireCalls === 0 && performance.now() < item.expiresAt + EXPIRED_BY_MS) await sleep(2);
}

function expectExpiredNear(item: Probe, at: number): void {
  expect(item.expireCalls).toBe(1);
  expect(item.settledWhenExpired).toBe(true);
  const when = item.expiredAt as number;
  expect(when).toBeGreaterThanOrEqual(at - 2);
  expect(when).toBeLessThan(at + EXPIRED_BY_MS);
}

describe('DeadlineQueue', () => {
  test('expiresAt is the start plus the queue length', () => {
    const queue = new DeadlineQueue(40);
    expect(queue.ms).toBe(40);
    expect(queue.expiresAt(1000)).toBe(1040);
    const before = performance.now();
    const at = queue.expiresAt();
    expect(at).toBeGreaterThanOrEqual(before + 40);
    expect(at).toBeLessThanOrEqual(performance.now() + 40);
  });

  test('items expire in the order they were added, each at its own deadline', async () => {
    const queue = new DeadlineQueue(40);
    const order: string[] = [];
    const a = probe(queue, 'a', (p) => order.push(p.name));
    queue.add(a);
    // A 20 ms timer can fire a fraction of a millisecond early by performance.now(): wait it out.
    while (performance.now() - a.expiresAt + 40 < 20) await sleep(1);
    const b = probe(queue, 'b', (p) => order.push(p.name));
    queue.add(b);
    expect(queue.size).toBe(2);

    await untilExpired(b);

    expect(order).toEqual(['a', 'b']);
    // Neither early (b came 20 ms after a, so it must not have been swept up with a) nor late.
    expectExpiredNear(a, a.expiresAt);
    expectExpiredNear(b, b.expiresAt);
    expect(b.expiresAt - a.expiresAt).toBeGreaterThanOrEqual(20);
    expect(queue.size).toBe(0);
  });

  test('settled items are never expired, wherever they are in the queue', async () => {
    const queue = new DeadlineQueue(30);
    const first = probe(queue, 'first');
    const middle = probe(queue, 'middle');
    const last = probe(queue, 'last');
    queue.add(first);
    queue.add(middle);
    queue.add(last);
    middle.settled = true;
    await sleep(10);
    first.settled = true;

    await untilExpired(last);
    expect(first.expireCalls).toBe(0);
    expect(middle.expireCalls).toBe(0);
    expectExpiredNear(last, last.expiresAt);
    expect(queue.size).toBe(0);
  });

  test('an item settled just before its deadline is not expired, and nothing is left watched', async () => {
    // A busy machine can oversleep the 20 ms past the deadline: then the case did not happen, and it
    // is tried again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const queue = new DeadlineQueue(30);
      const item = probe(queue, 'item');
      queue.add(item);
      await sleep(20);
      if (item.expireCalls > 0 || performance.now() > item.expiresAt - 2) {
        await sleep(40);
        continue;
      }
      item.settled = true;
      await sleep(40);
      expect(item.expireCalls).toBe(0);
      expect(queue.size).toBe(0);
      return;
    }
    throw new Error('the machine overslept a 20 ms timer past a 30 ms deadline five times');
  });

  test('expire() may add to the same queue; an older head due sooner still expires on time', async () => {
    const queue = new DeadlineQueue(80);
    let added: Probe | undefined;
    const a = probe(queue, 'a', () => {
      // Added during the queue's check: due 80 ms from now, later than b (due 10 ms from now).
      added = probe(queue, 'added');
      queue.add(added);
    });
    queue.add(a);
    await sleep(10);
    const b = probe(queue, 'b');
    queue.add(b);

    await untilExpired(b);
    expectExpiredNear(a, a.expiresAt);
    expect(added).toBeDefined();
    // Had the timer armed by the add() inside expire() been kept, b would wait for `added` (~70 ms later).
    expectExpiredNear(b, b.expiresAt);
    expect((added as Probe).expireCalls).toBe(0);
    expect(queue.size).toBe(1);

    await untilExpired(added as Probe);
    expectExpiredNear(added as Probe, (added as Probe).expiresAt);
    expect(queue.size).toBe(0);
  });

  test('items due together all expire in one check even when expire() adds more', async () => {
    const queue = new DeadlineQueue(60);
    const added: Probe[] = [];
    const due = ['a', 'b', 'c'].map((name) =>
      probe(queue, name, () => {
        const next = probe(queue, `after-${name}`);
        added.push(next);
        queue.add(next);
      }),
    );
    for (const item of due) queue.add(item);

    await untilExpired(due[2] as Probe);
    for (const item of due) expectExpiredNear(item, item.expiresAt);
    expect(added.map((p) => p.name)).toEqual(['after-a', 'after-b', 'after-c']);
    expect(added.every((p) => p.expireCalls === 0)).toBe(true);
    expect(queue.size).toBe(3);

    await untilExpired(added[2] as Probe);
    for (const item of added) expectExpiredNear(item, item.expiresAt);
    expect(queue.size).toBe(0);
  });

  test('a queue that emptied arms again for the next item', async () => {
    const queue = new DeadlineQueue(30);
    const first = probe(queue, 'first');
    queue.add(first);
    await untilExpired(first);
    expectExpiredNear(first, first.expiresAt);

    const second = probe(queue, 'second');
    queue.add(second);
    await untilExpired(second);
    expectExpiredNear(second, second.expiresAt);
  });

  test('50,000 items settling in FIFO order keep the queue small and its memory bounded', async () => {
    // The large-object space is the whole worker's: another test's buffer freed meanwhile (1 MiB of
    // a socket) can shrink it too. A queue that grew with its items shrinks it every time, so the
    // scenario runs up to three times and the smallest drop is what the queue accounts for.
    const drops: number[] = [];
    for (let run = 0; run < 3 && !drops.some((d) => d < 100_000); run++) drops.push(await backlogDrop());
    expect(Math.min(...drops)).toBeLessThan(100_000);
  });

  /** One run: 50,000 items through a queue; what the large-object space lost once it was emptied. */
  async function backlogDrop(): Promise<number> {
    // Long enough that nothing expires during the test: this one is about what the queue holds.
    const queue = new DeadlineQueue(5_000);
    const LAG = 8;
    const COUNT = 50_000;
    const pending: Probe[] = [];
    const refs: WeakRef<Probe>[] = [];
    let largest = 0;
    for (let i = 0; i < COUNT; i++) {
      const item = probe(queue, String(i));
      queue.add(item);
      pending.push(item);
      refs.push(new WeakRef(item));
      if (pending.length > LAG) queue.settle(pending.shift() as Probe);
      largest = Math.max(largest, queue.size);
    }
    // Settled items are dropped from the head on every add: at most the LAG unsettled ones plus the new one.
    expect(largest).toBeLessThanOrEqual(LAG + 1);

    // The queue lets go of settled items: only the LAG unsettled ones and the last settled one remain.
    const withBacklog = await largeObjectBytes();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(LAG + 1);

    // Compaction: the backing array did not grow with the 50,000 items (8 bytes a slot, ~400 kB in the
    // large-object space if it had). Once everything is settled the next add empties it, so that space
    // must not shrink by much.
    for (const item of pending) queue.settle(item);
    const after = probe(queue, 'after');
    queue.add(after);
    expect(queue.size).toBe(1);
    const emptied = await largeObjectBytes();

    queue.settle(after);
    expect(refs.every((r) => r.deref()?.expireCalls !== 1)).toBe(true);
    return withBacklog - emptied;
  }

  test('an unsettled head keeps later settled items counted until it is resolved', async () => {
    const queue = new DeadlineQueue(40);
    const head = probe(queue, 'head');
    queue.add(head);
    const rest = Array.from({ length: 2000 }, (_, i) => probe(queue, String(i)));
    for (const item of rest) {
      queue.add(item);
      item.settled = true;
    }
    // Only the head is dropped from: settled items behind an unsettled one still count.
    expect(queue.size).toBe(2001);
    head.settled = true;
    const next = probe(queue, 'next');
    queue.add(next);
    expect(queue.size).toBe(1);
    next.settled = true;
    await sleep(40 + LATE_MS);
    expect(queue.size).toBe(0);
    expect(head.expireCalls + next.expireCalls + rest.reduce((n, p) => n + p.expireCalls, 0)).toBe(0);
  });
});

describe('DeadlineQueue.settle', () => {
  /** The timers keeping this process alive. */
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

  test('once the last pending item settles, the timer stops at once, not a deadline later', () => {
    const queue = new DeadlineQueue(10_000);
    const before = timers();
    const a = probe(queue, 'a');
    const b = probe(queue, 'b');
    queue.add(a);
    queue.add(b);
    expect(timers()).toBe(before + 1);
    queue.settle(b);
    // a is still pending: the timer stays.
    expect(timers()).toBe(before + 1);
    queue.settle(a);
    expect(timers()).toBe(before);
    expect(queue.size).toBe(0);
    expect(a.settled && b.settled).toBe(true);
  });

  test('an item settled while another is pending leaves that one its deadline', async () => {
    const queue = new DeadlineQueue(30);
    const early = probe(queue, 'early');
    queue.add(early);
    await sleep(10);
    const late = probe(queue, 'late');
    queue.add(late);
    queue.settle(early);
    await untilExpired(late);
    expect(early.expireCalls).toBe(0);
    expectExpiredNear(late, late.expiresAt);
  });

  test('a queue stopped by its last settle arms again for the next item', async () => {
    const queue = new DeadlineQueue(30);
    const first = probe(queue, 'first');
    queue.add(first);
    await untilExpired(first);
    expectExpiredNear(first, first.expiresAt);

    // Stopped by a settle, then armed again.
    const settled = probe(queue, 'settled');
    queue.add(settled);
    queue.settle(settled);
    const next = probe(queue, 'next');
    queue.add(next);
    await untilExpired(next);
    expect(settled.expireCalls).toBe(0);
    expectExpiredNear(next, next.expiresAt);
    expect(queue.size).toBe(0);
  });
});

describe('DeadlineQueue after the event loop was blocked', () => {
  /** Blocks the event loop for `ms`, synchronously. */
  function block(ms: number): void {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // busy
    }
  }

  test('an answer that comes a little after the block is not expired: the block gives one more while', async () => {
    const queue = new DeadlineQueue(50);
    const item = probe(queue, 'sent before the block, answered after');
    queue.add(item);
    block(200);
    // What a client does after a block: write the rest of its pipeline, then read the replies.
    setTimeout(() => {
      if (!item.settled) item.settled = true;
    }, 10);
    await sleep(120);
    expect(item.expireCalls).toBe(0);
  });

  test('an item nobody answers still expires, at most one deadline after the block', async () => {
    const queue = new DeadlineQueue(50);
    const item = probe(queue, 'never answered');
    queue.add(item);
    block(200);
    const blockEnded = performance.now();
    await sleep(50 + LATE_MS + 30);
    expect(item.expireCalls).toBe(1);
    expect(item.expiredAt as number).toBeLessThan(blockEnded + 50 + LATE_MS);
  });
});

describe('deadlineQueue()', () => {
  test('returns one shared queue per length', () => {
    const q = deadlineQueue(123);
    expect(q).toBeInstanceOf(DeadlineQueue);
    expect(q.ms).toBe(123);
    expect(deadlineQueue(123)).toBe(q);
    const other = deadlineQueue(124);
    expect(other).not.toBe(q);
    expect(other.ms).toBe(124);
  });
});
