import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry, register } from 'prom-client';
import { type CallContext, callChannel, type ErrorMessage, errorChannel } from '../tracing';

/** The metrics {@link collectMetrics} keeps, and the way to stop it. */
export interface CacheMetrics {
  /** `cache_memoize_calls_total{function, outcome}`: finished calls (`f(...)` and each `f.many` entry). */
  readonly calls: Counter<'function' | 'outcome'>;
  /** `cache_memoize_duration_seconds{function, outcome}`: how long each call took, from call to result. */
  readonly duration: Histogram<'function' | 'outcome'>;
  /** `cache_memoize_store_errors_total{code}`: every failure reported (what `onError` hears), by its code. */
  readonly storeErrors: Counter<'code'>;
  /** Stops counting and removes the three metrics from the registry; `collectMetrics` may then start anew. */
  stop(): void;
}

const CALLS = 'cache_memoize_calls_total';
const DURATION = 'cache_memoize_duration_seconds';
const STORE_ERRORS = 'cache_memoize_store_errors_total';

/**
 * From a local hit (microseconds) through a Redis round trip (a fraction of a millisecond) to a
 * function that takes seconds.
 */
const BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const collecting = new WeakMap<Registry, CacheMetrics>();

/**
 * Counts every call of every memoized function in this process, and every failure reported, as
 * Prometheus metrics in `registry`: `cache_memoize_calls_total{function, outcome}`,
 * `cache_memoize_duration_seconds{function, outcome}` (a histogram) and
 * `cache_memoize_store_errors_total{code}`. `function` is the memoized function's name, `outcome` one
 * of `hit`, `local`, `stale`, `miss` or `error` (see `CallOutcome`).
 *
 * It subscribes to the `cache-memoize:call` and `cache-memoize:error` diagnostics channels, so calls
 * are traced (a small cost per call) from then on. Calling it again with the same registry returns
 * the same metrics: it never counts a call twice.
 *
 * `prom-client` is an optional peer dependency: install it to use this module.
 *
 * @param registry - where the metrics are registered
 * @default registry prom-client's default `register`
 * @throws TypeError when `registry` already has a metric of one of these names that this function
 *   did not register
 * @example
 * ```ts
 * import { register } from 'prom-client';
 * import { collectMetrics } from 'cache-memoize/prometheus';
 *
 * collectMetrics();
 * app.get('/metrics', async (_req, res) => {
 *   res.type(register.contentType).send(await register.metrics());
 * });
 * ```
 */
export function collectMetrics(registry: Registry = register): CacheMetrics {
  const existing = collecting.get(registry);
  if (existing !== undefined) return existing;
  for (const name of [CALLS, DURATION, STORE_ERRORS]) {
    if (registry.getSingleMetric(name) !== undefined) {
      throw new TypeError(
        `collectMetrics: the registry already has a metric named ${name} that collectMetrics did not register; ` +
          'remove it (registry.removeSingleMetric) or pass another registry',
      );
    }
  }
  const registers = [registry];
  const calls = new Counter({
    name: CALLS,
    help: 'Calls of memoized functions, by function and outcome (hit, local, stale, miss, error).',
    labelNames: ['function', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: DURATION,
    help: 'Time from a call of a memoized function to its result, in seconds, by function and outcome.',
    labelNames: ['function', 'outcome'] as const,
    buckets: BUCKETS,
    registers,
  });
  const storeErrors = new Counter({
    name: STORE_ERRORS,
    help: 'Failures cache-memoize reported (store timeouts and outages, undecodable values, ...), by code.',
    labelNames: ['code'] as const,
    registers,
  });

  const startedAt = new WeakMap<CallContext, number>();
  const onStart = (message: unknown) => {
    startedAt.set(message as CallContext, performance.now());
  };
  const onFinish = (message: unknown) => {
    const context = message as CallContext;
    const labels = { function: context.name, outcome: context.outcome ?? 'error' };
    calls.inc(labels);
    const started = startedAt.get(context);
    if (started !== undefined) duration.observe(labels, (performance.now() - started) / 1000);
  };
  const onError = (message: unknown) => {
    storeErrors.inc({ code: (message as ErrorMessage).error.code });
  };
  callChannel.start.subscribe(onStart);
  callChannel.asyncEnd.subscribe(onFinish);
  errorChannel.subscribe(onError);

  const metrics: CacheMetrics = {
    calls,
    duration,
    storeErrors,
    stop() {
      if (collecting.get(registry) !== metrics) return;
      collecting.delete(registry);
      callChannel.start.unsubscribe(onStart);
      callChannel.asyncEnd.unsubscribe(onFinish);
      errorChannel.unsubscribe(onError);
      for (const name of [CALLS, DURATION, STORE_ERRORS]) registry.removeSingleMetric(name);
    },
  };
  collecting.set(registry, metrics);
  return metrics;
}
