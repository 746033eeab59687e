import { Counter, Registry, register } from 'prom-client';
import type { RedisClientType } from 'redis';
import { createMemoizer, type RedisLike } from '../lib';
import { collectMetrics } from '../lib/prometheus';
import { connect, sleep, uniquePrefix } from './helpers/redis';

// cache-memoize/prometheus: collectMetrics(registry) counts calls by function and outcome, times
// them, and counts reported failures by code, from the diagnostics channels.

let client: RedisClientType;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.quit();
});

/** The value of one labelled series of the counter `name` in `registry` (0 when absent). */
async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const series = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return series?.value ?? 0;
}

test('calls by function and outcome, their durations, and failures by code', async () => {
  const registry = new Registry();
  const metrics = collectMetrics(registry);
  try {
    const memoize = createMemoizer({ client: client as unknown as RedisLike, keyPrefix: uniquePrefix('prom') });
    const f = memoize(
      async (id: number) => {
        await sleep(20);
        return id;
      },
      { name: 'measured' },
    );
    const failing = memoize(
      async () => {
        throw new Error('no');
      },
      { name: 'failing' },
    );
    await f(1);
    await f(1);
    await f.many([[1], [2]]);
    await expect(failing()).rejects.toThrow('no');

    expect(await value(registry, 'cache_memoize_calls_total', { function: 'measured', outcome: 'miss' })).toBe(2);
    expect(await value(registry, 'cache_memoize_calls_total', { function: 'measured', outcome: 'hit' })).toBe(2);
    expect(await value(registry, 'cache_memoize_calls_total', { function: 'failing', outcome: 'error' })).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain('cache_memoize_duration_seconds_count{function="measured",outcome="miss"} 2');
    const sum = /cache_memoize_duration_seconds_sum\{function="measured",outcome="miss"\} ([\d.e-]+)/.exec(text)?.[1];
    // Two misses of a function that sleeps 20 ms.
    expect(Number(sum)).toBeGreaterThanOrEqual(0.035);
    expect(Number(sum)).toBeLessThan(5);
    expect(text).toMatch(/cache_memoize_duration_seconds_bucket\{le="0\.01",function="measured",outcome="miss"\} 0/);
    expect(metrics.calls).toBe(registry.getSingleMetric('cache_memoize_calls_total'));
  } finally {
    metrics.stop();
  }
});

test('store failures are counted by code, whether or not anyone set onError', async () => {
  const registry = new Registry();
  const metrics = collectMetrics(registry);
  const closed = await connect();
  await closed.quit();
  const warned = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
  try {
    const f = createMemoizer({ client: closed as unknown as RedisLike, keyPrefix: uniquePrefix('prom-err') })(
      async (id: number) => id,
      { name: 'offline' },
    );
    await f(1);
    await f(2);
    expect(await value(registry, 'cache_memoize_store_errors_total', { code: 'E_UNAVAILABLE' })).toBe(2);
    expect(await value(registry, 'cache_memoize_calls_total', { function: 'offline', outcome: 'miss' })).toBe(2);
  } finally {
    warned.mockRestore();
    metrics.stop();
  }
});

test('twice with one registry: the same metrics, each call counted once; stop() unregisters', async () => {
  const registry = new Registry();
  const first = collectMetrics(registry);
  const second = collectMetrics(registry);
  expect(second).toBe(first);
  const f = createMemoizer({ client: client as unknown as RedisLike, keyPrefix: uniquePrefix('prom-twice') })(
    async (id: number) => id,
    { name: 'once' },
  );
  await f(1);
  expect(await value(registry, 'cache_memoize_calls_total', { function: 'once', outcome: 'miss' })).toBe(1);
  first.stop();
  expect(registry.getSingleMetric('cache_memoize_calls_total')).toBeUndefined();
  await f(1);
  const again = collectMetrics(registry);
  try {
    expect(again).not.toBe(first);
    await f(1);
    expect(await value(registry, 'cache_memoize_calls_total', { function: 'once', outcome: 'hit' })).toBe(1);
  } finally {
    again.stop();
  }
});

test('the default registry, and a clear error for a registry that has these names already', async () => {
  const metrics = collectMetrics();
  try {
    expect(register.getSingleMetric('cache_memoize_calls_total')).toBe(metrics.calls);
  } finally {
    metrics.stop();
  }
  const taken = new Registry();
  new Counter({ name: 'cache_memoize_calls_total', help: 'someone else', registers: [taken] });
  expect(() => collectMetrics(taken)).toThrow(/already has a metric named cache_memoize_calls_total/);
  expect(taken.getSingleMetric('cache_memoize_duration_seconds')).toBeUndefined();
});
