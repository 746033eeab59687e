import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { type Contender, type Fn, openContender, type Value } from './contenders';
import { type ContenderId, executionsKey, type FromWorker, type ToWorker, WORK_MS } from './protocol';

// One worker process of bench/stampede.ts (forked with `--import tsx`): argv = url, contender id,
// worker index. Sets up its contender, says `ready`, then answers `prepare` / `go` / `quit`.

function send(message: FromWorker): void {
  process.send?.(message);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function main(): Promise<void> {
  const [url, id, index] = process.argv.slice(2) as [string, ContenderId, string];
  // The parent gone (crash, Ctrl-C) means this worker is done too.
  process.on('disconnect', () => process.exit());

  // Counting executions goes through a separate client, the same for every contender.
  const counter = createClient({ url });
  counter.on('error', (error: unknown) => console.error('stampede worker: counter client error:', error));
  await counter.connect();
  const contender: Contender = await openContender(id, url);

  const work: Fn = async (arg) => {
    await counter.incr(executionsKey(arg));
    await sleep(WORK_MS);
    return { arg, pid: process.pid } satisfies Value;
  };

  let cached: Fn | undefined;
  let trialArg = '';

  async function prepare(prefix: string, arg: string): Promise<void> {
    cached = contender.wrap(prefix, work);
    trialArg = arg;
    // A miss and a hit on this worker's own key: connection, code paths and JIT warm before the barrier.
    const warmArg = `${prefix}:warm-${index}`;
    for (let i = 0; i < 2; i++) {
      const value = await cached(warmArg);
      if (value.arg !== warmArg) throw new Error(`warm-up returned the value of ${value.arg}`);
    }
  }

  async function go(callers: number): Promise<FromWorker> {
    const f = cached;
    if (f === undefined) throw new Error('go before prepare');
    const latencies = new Array<number>(callers);
    const errors: string[] = [];
    // Every call is issued in this tick: the body of each async arrow runs up to its first await.
    await Promise.all(
      Array.from({ length: callers }, async (_, i) => {
        const start = performance.now();
        try {
          const value = await f(trialArg);
          if (value.arg !== trialArg) errors.push(`a call returned the value of ${value.arg}`);
        } catch (error) {
          errors.push(describe(error));
        }
        latencies[i] = performance.now() - start;
      }),
    );
    return { op: 'done', latencies, errors };
  }

  process.on('message', (message: ToWorker) => {
    const step = async (): Promise<void> => {
      if (message.op === 'prepare') {
        await prepare(message.prefix, message.arg);
        send({ op: 'prepared' });
      } else if (message.op === 'go') {
        send(await go(message.callers));
      } else {
        await contender.close();
        await counter.quit();
        process.disconnect();
      }
    };
    step().catch((error: unknown) => {
      send({ op: 'failed', error: describe(error) });
      process.exitCode = 1;
      process.disconnect();
    });
  });
  send({ op: 'ready' });
}

main().catch((error: unknown) => {
  send({ op: 'failed', error: describe(error) });
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});
