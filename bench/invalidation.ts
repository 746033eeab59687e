import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { COMPUTED_BY_READER, type FromReader, type SideKind, type ToReader, wallClock } from './invalidation/protocol';
import { openSide, type Side } from './invalidation/sides';
import type { InvalidationResult } from './lib/report';

/** Settings of {@link runInvalidation}. */
export interface InvalidationOptions {
  url: string;
  /** The run's key tag: the entry's prefix contains it. */
  tag: string;
  kind: SideKind;
  label: string;
  /** @default 250 */
  samples?: number;
}

const READER = join(__dirname, 'invalidation', 'reader.ts');

// A write the reader has not seen by then is counted as unseen; this many unseen writes end the run.
const SEEN_WITHIN_MS = 1_000;
const MAX_UNSEEN = 5;

/** Nearest-rank percentile of a non-empty list. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** The reader process: the first time it reported each version. */
class Reader {
  readonly #child: ChildProcess;
  readonly #seen = new Map<number, number>();
  #waiter: { version: number; resolve: (at: number | undefined) => void } | undefined;
  #failure: Error | undefined;

  constructor(url: string, kind: SideKind, prefix: string) {
    this.#child = fork(READER, [url, kind, prefix], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const killOnExit = () => this.#child.kill('SIGKILL');
    process.once('exit', killOnExit);
    this.#child.on('message', (message: FromReader) => {
      if (message.op === 'failed') this.#fail(new Error(`reader: ${message.error}`));
      else if (message.version === COMPUTED_BY_READER) this.#fail(new Error('the reader computed the entry itself'));
      else if (!this.#seen.has(message.version)) this.#seen.set(message.version, message.at);
      if (this.#waiter !== undefined && this.#seen.has(this.#waiter.version)) {
        this.#waiter.resolve(this.#seen.get(this.#waiter.version));
      }
    });
    this.#child.on('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      this.#fail(new Error(`reader exited (${signal ?? `code ${code}`})`));
    });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#waiter?.resolve(undefined);
  }

  /** When the reader first returned `version` (wall clock), or `undefined` if not within `ms`. */
  async seen(version: number, ms: number): Promise<number | undefined> {
    if (this.#failure) throw this.#failure;
    const known = this.#seen.get(version);
    if (known !== undefined) return known;
    const at = await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      this.#waiter = {
        version,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
      };
    });
    this.#waiter = undefined;
    if (this.#failure) throw this.#failure;
    return at;
  }

  async quit(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    this.#child.send({ op: 'quit' } satisfies ToReader);
    await exited;
    clearTimeout(timer);
  }
}

async function sample(side: Side, reader: Reader, samples: number, label: string): Promise<InvalidationResult> {
  const latencies: number[] = [];
  let unseen = 0;
  for (let version = 1; version <= samples; version++) {
    await side.write(version);
    const written = wallClock();
    const seen = await reader.seen(version, SEEN_WITHIN_MS);
    if (seen === undefined) {
      unseen++;
      if (unseen >= MAX_UNSEEN)
        throw new Error(`${label}: ${unseen} writes not seen by the reader within ${SEEN_WITHIN_MS} ms`);
    } else {
      latencies.push(seen - written);
    }
    // Spaced a few ms apart, varied, so writes do not fall in step with the reader's loop.
    await sleep(2 + (version % 4));
  }
  const sorted = latencies.sort((a, b) => a - b);
  return {
    contender: label,
    samples: sorted.length,
    unseen,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * Cross-process invalidation latency of a local tier: a forked reader (process A) reads the entry in a
 * loop; this process (B) writes a new version and notes when the write resolved; the latency is how
 * much later A first returned it (wall clock, same machine). Negative when A saw it before B's write
 * resolved.
 */
export async function runInvalidation(options: InvalidationOptions): Promise<InvalidationResult> {
  const { url, tag, kind, label, samples = 250 } = options;
  const prefix = `${tag}-invalidation-${kind}`;
  const side = await openSide(kind, url, prefix);
  let reader: Reader | undefined;
  try {
    await side.write(0);
    reader = new Reader(url, kind, prefix);
    // Starting tsx in a fresh process takes a second or two on 2 cores.
    if ((await reader.seen(0, 30_000)) === undefined) throw new Error(`${label}: the reader never read version 0`);
    return await sample(side, reader, samples, label);
  } finally {
    await reader?.quit();
    await side.close();
  }
}
