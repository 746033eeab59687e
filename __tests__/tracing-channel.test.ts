import { AsyncLocalStorage } from 'node:async_hooks';
import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { RedisClientType } from 'redis';
import {
  CALL_CHANNEL,
  type CallContext,
  createMemoizer,
  ERROR_CHANNEL,
  type ErrorMessage,
  type RedisLike,
} from '../lib';
import { RedisStore } from '../lib/stores/redis/store';
import { connect, deferred, sleep, uniquePrefix, until } from './helpers/redis';
import { CountingStore } from './helpers/stores';

// The `cache-memoize:call` TracingChannel: every call is traced with its name, key, arguments and
// outcome, the function runs inside the trace's bound stores (how an OpenTelemetry span becomes the
// parent of what the function does), and reported failures go to `cache-memoize:error`.

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

type Event = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const calls = tracingChannel<unknown, CallContext>(CALL_CHANNEL);

/** Subscribes to every event of the call channel for the test's function; the events in order. */
function record(name: string) {
  const events: Array<{ event: Event; context: CallContext; outcome: CallContext['outcome'] }> = [];
  const on = (event: Event) => (context: CallContext) => {
    if (context.name === name) events.push({ event, context, outcome: context.outcome });
  };
  const handlers = {
    start: on('start'),
    end: on('end'),
    asyncStart: on('asyncStart'),
    asyncEnd: on('asyncEnd'),
    error: on('error'),
  };
  calls.subscribe(handlers);
  return {
    events,
    /** The outcome of each finished call, in order. */
    outcomes: () => events.filter((e) => e.event === 'asyncEnd').map((e) => e.outcome),
    stop: () => calls.unsubscribe(handlers),
  };
}

function memoizer(label: string, options: { onError?: () => void } = {}) {
  // A generous deadline: on a loaded machine a read that times out would change the outcomes.
  return createMemoizer({
    client: client as unknown as RedisLike,
    keyPrefix: uniquePrefix(label),
    timeout: '5s',
    ...options,
  });
}

test('a miss, then a hit: each call traced start to asyncEnd with its name, key, args and outcome', async () => {
  const f = memoizer('trace')(async (id: number) => ({ id }), { name: 'traced' });
  const trace = record('traced');
  try {
    await f(1);
    await f(1);
    expect(trace.events.map((e) => e.event)).toEqual([
      ...['start', 'end', 'asyncStart', 'asyncEnd'],
      ...['start', 'end', 'asyncStart', 'asyncEnd'],
    ]);
    const [first] = trace.events;
    expect(first?.context).toMatchObject({ name: 'traced', key: f.keyFor(1), args: [1] });
    // Known at start: the outcome is not.
    expect(first?.outcome).toBeUndefined();
    expect(trace.outcomes()).toEqual(['miss', 'hit']);
    expect(trace.events[3]?.context.result).toEqual({ id: 1 });
  } finally {
    trace.stop();
  }
});

test('a local hit is `local`, a stale one `stale`, a rejection `error` with the error event', async () => {
  let version = 0;
  const memoize = memoizer('trace-kinds');
  const local = memoize(async (id: number) => id, { name: 'localKind', local: true });
  const stale = memoize(async () => ++version, { name: 'staleKind', ttl: 0.05, staleTtl: '1m' });
  const failing = memoize(
    async () => {
      throw new Error('boom');
    },
    { name: 'failingKind' },
  );
  await local(1);
  await until(async () => {
    const trace = record('localKind');
    await local(1);
    trace.stop();
    return trace.outcomes()[0] === 'local';
  }, 'a local hit');
  await stale();
  await sleep(80);
  const traces = ['staleKind', 'failingKind'].map(record);
  try {
    expect(await stale()).toBe(1);
    await expect(failing()).rejects.toThrow('boom');
    expect(traces[0]?.outcomes()).toEqual(['stale']);
    expect(traces[1]?.events.map((e) => [e.event, e.outcome])).toEqual([
      ['start', undefined],
      ['end', undefined],
      ['error', 'error'],
      ['asyncStart', 'error'],
      ['asyncEnd', 'error'],
    ]);
    expect(traces[1]?.events[2]?.context.error).toEqual(new Error('boom'));
  } finally {
    for (const t of traces) t.stop();
  }
});

test('a call that joins one in flight takes its outcome; each f.many entry is a call of its own', async () => {
  const gate = deferred<void>();
  const f = memoizer('trace-join')(
    async (id: number) => {
      await gate.promise;
      return id;
    },
    { name: 'joined' },
  );
  const trace = record('joined');
  try {
    const both = Promise.all([f(1), f(1)]);
    gate.resolve();
    await both;
    expect(trace.outcomes()).toEqual(['miss', 'miss']);
    trace.events.length = 0;
    expect(await f.many([[1], [2]])).toEqual([1, 2]);
    expect(trace.events.filter((e) => e.event === 'asyncEnd').map((e) => [e.context.args, e.outcome])).toEqual([
      [[1], 'hit'],
      [[2], 'miss'],
    ]);
  } finally {
    trace.stop();
  }
});

test('arguments that cannot be keyed: traced as an error without a key', async () => {
  const f = memoizer('trace-unkeyable')(async (cb: () => void) => typeof cb, { name: 'unkeyable' });
  const trace = record('unkeyable');
  try {
    await expect(f(() => {})).rejects.toThrow(TypeError);
    expect(trace.events.map((e) => [e.event, e.context.key, e.outcome])).toEqual([
      ['start', undefined, 'error'],
      ['end', undefined, 'error'],
      ['error', undefined, 'error'],
      ['asyncStart', undefined, 'error'],
      ['asyncEnd', undefined, 'error'],
    ]);
  } finally {
    trace.stop();
  }
});

test('the function runs inside the stores bound to `start` (a tracer’s active span), in f.many too', async () => {
  const active = new AsyncLocalStorage<string>();
  const seen: Array<string | undefined> = [];
  const f = memoizer('trace-store')(
    async (id: number) => {
      await sleep(1);
      seen.push(active.getStore());
      return id;
    },
    { name: 'bound' },
  );
  calls.start.bindStore(active, (context) => `span of ${context.name} ${JSON.stringify(context.args)}`);
  try {
    await f(7);
    // Each entry of a batch computes in its own trace's context, not in the batch's.
    await f.many([[8], [7], [9]]);
  } finally {
    calls.start.unbindStore(active);
  }
  expect(seen).toEqual(['span of bound [7]', 'span of bound [8]', 'span of bound [9]']);
});

test('a read past its deadline: the function still runs inside the stores bound to `start`', async () => {
  const active = new AsyncLocalStorage<string>();
  const seen: Array<string | undefined> = [];
  // A store whose reads never answer: only the deadline's timer ends them.
  const silent = new CountingStore(new RedisStore(client as unknown as RedisLike));
  silent.get = () => new Promise<never>(() => {});
  const errors: string[] = [];
  const f = createMemoizer({
    store: silent,
    keyPrefix: uniquePrefix('trace-deadline'),
    timeout: 30,
    onError: ({ error }) => errors.push(error.code),
  })(
    async (id: number) => {
      seen.push(active.getStore());
      return id;
    },
    { name: 'late' },
  );
  calls.start.bindStore(active, (context) => `span of ${context.name}`);
  try {
    expect(await f(1)).toBe(1);
  } finally {
    calls.start.unbindStore(active);
  }
  expect(errors).toEqual(['E_TIMEOUT']);
  expect(seen).toEqual(['span of late']);
});

test('every reported failure is published on cache-memoize:error, with or without onError', async () => {
  const failures = channel(ERROR_CHANNEL);
  const heard: ErrorMessage[] = [];
  const listener = (message: unknown) => heard.push(message as ErrorMessage);
  failures.subscribe(listener);
  const closed = await connect();
  await closed.quit();
  try {
    const f = createMemoizer({ client: closed as unknown as RedisLike, keyPrefix: uniquePrefix('trace-err') })(
      async (id: number) => id,
      { name: 'unreachable' },
    );
    const warned = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      expect(await f(3)).toBe(3);
    } finally {
      warned.mockRestore();
    }
  } finally {
    failures.unsubscribe(listener);
  }
  const mine = heard.filter((m) => m.name === 'unreachable');
  expect(mine.map((m) => [m.error.code, m.key])).toEqual([['E_UNAVAILABLE', expect.stringContaining('unreachable')]]);
});

test('nothing is traced once the subscriber has gone', async () => {
  const f = memoizer('trace-none')(async (id: number) => id, { name: 'untraced' });
  await f(1);
  const trace = record('untraced');
  trace.stop();
  await f(1);
  await f(2);
  // Other test files of this worker process may subscribe (channels are process-wide): only this
  // function's events are looked at.
  expect(trace.events).toEqual([]);
});
