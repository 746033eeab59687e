/**
 * Tracing memoized calls through `node:diagnostics_channel`, the way an OpenTelemetry
 * instrumentation built on diagnostics channels does it: `npx tsx examples/tracing.ts`.
 *
 * It needs neither Redis (a MemoryStore) nor OpenTelemetry: `SpanRecorder` below stands in for a
 * tracer and keeps what a tracer would export. The bridge is the part to copy; with OpenTelemetry
 * its three calls become `tracer.startSpan(name, { attributes }, context.active())`,
 * `span.setAttribute(...)` / `span.recordException(error)`, and `span.end()`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
// In an application: from 'cache-memoize'.
import { CALL_CHANNEL, type CallContext, createMemoizer, MemoryStore } from '../lib';

/** A finished span, as a tracer would export it. */
interface Span {
  readonly name: string;
  readonly parent: Span | undefined;
  readonly attributes: Record<string, string>;
  readonly started: number;
  ms: number;
}

/** Stands in for a tracer: the active span lives in an AsyncLocalStorage, as OpenTelemetry's does. */
class SpanRecorder {
  readonly active = new AsyncLocalStorage<Span>();
  readonly finished: Span[] = [];

  start(name: string, attributes: Record<string, string>): Span {
    return { name, parent: this.active.getStore(), attributes, started: performance.now(), ms: 0 };
  }

  end(span: Span): void {
    span.ms = performance.now() - span.started;
    this.finished.push(span);
  }

  /** Runs `work` with `span` as the active span: spans started inside are its children. */
  within<T>(span: Span, work: () => T): T {
    return this.active.run(span, work);
  }
}

const tracer = new SpanRecorder();

// The bridge. `start` is published synchronously in the caller's context, so the caller's active
// span becomes the parent. Binding the tracer's storage to `start` makes the new span the active one
// while the call runs (Node runs it inside `start.runStores`): on a miss, what the function does is
// traced as the cache span's children.
const calls = tracingChannel<Span, CallContext>(CALL_CHANNEL);
const spans = new WeakMap<CallContext, Span>();
calls.start.bindStore(tracer.active, (call) => {
  const span = tracer.start(`cache-memoize ${call.name}`, { 'cache_memoize.key': call.key ?? '' });
  spans.set(call, span);
  return span;
});
calls.subscribe({
  start() {},
  end() {},
  asyncStart() {},
  asyncEnd(call) {
    const span = spans.get(call);
    if (span === undefined) return;
    // Known once the call has settled: hit, local, stale, miss or error.
    span.attributes['cache_memoize.outcome'] = call.outcome ?? 'unknown';
    tracer.end(span);
  },
  error(call) {
    const span = spans.get(call);
    if (span !== undefined) span.attributes.exception = String(call.error);
  },
});

// The application: a request handler that reads users through a memoized query.
const memoize = createMemoizer({ store: new MemoryStore(), keyPrefix: 'example' });

const getUser = memoize(
  async function getUser(id: number) {
    const query = tracer.start('db.query', { 'db.statement': `SELECT * FROM users WHERE id = ${id}` });
    await new Promise((resolve) => setTimeout(resolve, 5));
    tracer.end(query);
    return { id, name: `user ${id}` };
  },
  { ttl: '1m' },
);

async function handleRequest(path: string, ids: number[]): Promise<void> {
  const request = tracer.start(`GET ${path}`, {});
  await tracer.within(request, () => getUser.many(ids.map((id) => [id])));
  tracer.end(request);
}

function print(span: Span, depth: number): void {
  const attributes = Object.entries(span.attributes)
    .filter(([name]) => name !== 'cache_memoize.key')
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  console.log(`${'  '.repeat(depth)}${span.name}  ${attributes}`.trimEnd());
  for (const child of tracer.finished.filter((s) => s.parent === span)) print(child, depth + 1);
}

async function main(): Promise<void> {
  await handleRequest('/team', [1, 2]);
  await handleRequest('/team', [1, 2, 3]);
  for (const root of tracer.finished.filter((s) => s.parent === undefined)) print(root, 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
