import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createMemoizer } from '../lib';
import { asyncRate, summarize } from './lib/measure';
import { type BenchClient, connectClient, unlinkMatching } from './lib/redis-client';
import { benchRedis } from './lib/redis-server';
import { type BenchResult, verdict } from './lib/report';

/** Settings of {@link runFanOut}. */
export interface FanOutOptions {
  /** The run's key tag: every key written contains it. */
  tag: string;
  rounds: number;
  /** Memoized functions. @default 100 */
  functions?: number;
  /** Processes tracking all of them with `local`. @default 8 */
  processes?: number;
  /** Length of one round of one contender. @default 250 */
  roundMs?: number;
}

const IN_FLIGHT = 100;

/** The tracking processes, switched on and off between rounds. */
class Trackers {
  readonly #children: ChildProcess[];
  #on = false;

  constructor(url: string, keyPrefix: string, functions: number, processes: number) {
    this.#children = Array.from({ length: processes }, () =>
      fork(join(__dirname, 'fan-out', 'tracker.ts'), [url, keyPrefix, String(functions)], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
  }

  /** Every process tracks (or none does), as Redis's own list of tracking clients confirms. */
  async set(on: boolean, client: BenchClient): Promise<void> {
    if (on === this.#on) return;
    const op = on ? 'track' : 'untrack';
    await Promise.all(
      this.#children.map((child) => {
        const answered = once(child, 'message');
        child.send(op);
        return answered;
      }),
    );
    const expected = on ? this.#children.length : 0;
    for (let attempt = 0; ; attempt++) {
      const list = await client.sendCommand(['CLIENT', 'LIST']);
      const tracking = String(list)
        .split('\n')
        .filter((line) => /\bflags=\S*t/.test(line)).length;
      if (tracking === expected) break;
      if (attempt === 100) throw new Error(`${tracking} tracking connections, expected ${expected}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.#on = on;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#children.map(async (child) => {
        if (child.exitCode !== null) return;
        const exited = once(child, 'exit');
        child.disconnect();
        await exited;
      }),
    );
  }
}

/**
 * Tracking fan-out: `functions` memoized functions, each with `local` in `processes` other
 * processes (tracking their prefixes), against none tracked. Rows: misses/s of one more process
 * (fresh arguments, round-robin over the functions), and a plain `SET` of a key outside them. Each
 * round measures both with and without the trackers, the order alternating; its own redis-server.
 */
export async function runFanOut(options: FanOutOptions): Promise<BenchResult[]> {
  const { tag, rounds, functions = 100, processes = 8, roundMs = 250 } = options;
  const redis = await benchRedis();
  const client = await connectClient(redis.url);
  const keyPrefix = `${tag}-fan`;
  const trackers = new Trackers(redis.url, keyPrefix, functions, processes);
  try {
    let failures = 0;
    // Misses on a loaded machine must measure the store's work, not the deadline's shortcut.
    const memoize = createMemoizer({
      client,
      keyPrefix,
      ttl: '1h',
      timeout: '10s',
      circuitBreaker: false,
      onError: () => {
        failures++;
      },
    });
    const all = Array.from({ length: functions }, (_, i) =>
      memoize(async (id: number) => ({ id, at: i }), { name: `fan${i}` }),
    );
    let next = 1;
    const miss = () => {
      const n = next++;
      return (all[n % functions] as (id: number) => Promise<unknown>)(n);
    };
    const elsewhere = () => client.set(`${tag}:elsewhere:${next++ % 1000}`, 'v');
    const measure = async (call: () => Promise<unknown>, ms: number) => {
      const opsPerSecond = await asyncRate(call, IN_FLIGHT, ms);
      if (failures > 0) throw new Error(`fan-out: ${failures} store failures during a round`);
      await unlinkMatching(client, `${keyPrefix}:*`);
      return opsPerSecond;
    };
    const cases = [
      { name: `misses, ${functions} functions x ${processes} processes`, call: miss, base: 'no process tracking' },
      { name: `plain SET elsewhere, ${functions} x ${processes} tracked`, call: elsewhere, base: 'nothing tracked' },
    ];
    const measured = cases.map(() => ({ off: [] as number[], on: [] as number[] }));
    for (const on of [false, true]) {
      await trackers.set(on, client);
      for (const c of cases) await measure(c.call, roundMs);
    }
    for (let r = 0; r < rounds; r++) {
      for (const on of r % 2 === 0 ? [true, false] : [false, true]) {
        await trackers.set(on, client);
        for (const [i, c] of cases.entries()) measured[i]?.[on ? 'on' : 'off'].push(await measure(c.call, roundMs));
      }
    }
    return cases.map((c, i) => {
      const { off = [], on = [] } = measured[i] ?? {};
      const candidateName = i === 0 ? `${processes} processes with local: true` : `${processes} processes tracking`;
      return verdict(summarize(off, on), { suite: 'fan-out', case: c.name, baselineName: c.base, candidateName });
    });
  } finally {
    await trackers.close();
    await client.quit();
    await redis.stop();
  }
}
