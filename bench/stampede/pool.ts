import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { ContenderId, FromWorker, ToWorker } from './protocol';

const WORKER = join(__dirname, 'worker.ts');

// Every worker ever forked and not yet exited, so an exit of the parent (error, Ctrl-C) takes them along.
const live = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  // benchRedis() also exits on these when it spawned the server; with REDIS_URL it does not.
  const exitOnSignal = () => process.exit(130);
  process.once('SIGINT', exitOnSignal);
  process.once('SIGTERM', exitOnSignal);
}

/** One forked worker process, asked one thing at a time. */
export class Worker {
  readonly #child: ChildProcess;
  #waiting: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;
  #gone: Error | undefined;

  constructor(url: string, contender: ContenderId, index: number) {
    hookExit();
    this.#child = fork(WORKER, [url, contender, String(index)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(this.#child);
    this.#child.on('message', (message: FromWorker) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (message.op === 'failed') waiting?.reject(new Error(message.error));
      else waiting?.resolve(message);
    });
    this.#child.on('exit', (code, signal) => {
      live.delete(this.#child);
      this.#gone = new Error(`worker ${index} exited (${signal ?? `code ${code}`})`);
      this.#waiting?.reject(this.#gone);
      this.#waiting = undefined;
    });
  }

  /** Resolves with the next message of `op` (any other is a protocol error), within `ms`. */
  next<Op extends FromWorker['op']>(op: Op, ms = 30_000): Promise<Extract<FromWorker, { op: Op }>> {
    if (this.#gone) return Promise.reject(this.#gone);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error(`no '${op}' from worker ${this.#child.pid} within ${ms} ms`));
      }, ms);
      this.#waiting = {
        resolve: (message) => {
          clearTimeout(timer);
          if (message.op === op) resolve(message as Extract<FromWorker, { op: Op }>);
          else reject(new Error(`expected '${op}' from a worker, got '${message.op}'`));
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  send(message: ToWorker): void {
    this.#child.send(message);
  }

  /** Asks the worker to close its clients and exit; kills it if it has not within 5 s. */
  async quit(): Promise<void> {
    if (this.#gone) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    try {
      this.send({ op: 'quit' });
    } catch {
      this.#child.kill('SIGKILL');
    }
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

/** Forks `count` workers of `contender` and waits until each has connected its clients. */
export async function startWorkers(url: string, contender: ContenderId, count: number): Promise<Worker[]> {
  const workers = Array.from({ length: count }, (_, i) => new Worker(url, contender, i));
  try {
    // Starting up to 8 tsx processes at once on 2 cores takes a few seconds.
    await Promise.all(workers.map((w) => w.next('ready', 60_000)));
    return workers;
  } catch (error) {
    for (const w of workers) w.kill();
    throw error;
  }
}
