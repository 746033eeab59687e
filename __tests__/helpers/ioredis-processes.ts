import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { Command, Connection, Reply, SetupCommand } from '../fixtures/ioredis-child';
import { deferred } from './redis';
import type { RedisCluster } from './redis-cluster';

// Forked fixtures/ioredis-child.ts processes, driven over IPC: the other processes of the ioredis
// lock and local-tier tests.

/** The counter the child's memoized function INCRs, one per key prefix. */
export function counterKeyOf(keyPrefix: string): string {
  return `{${keyPrefix}}-executions`;
}

/** The version the child's memoized function reads, one per key prefix. */
export function versionKeyOf(keyPrefix: string): string {
  return `{${keyPrefix}}-version`;
}

/** The child's connection to the suite's Redis (`url`) or to a spawned cluster. */
export function connectionTo(target: string | RedisCluster): Connection {
  if (typeof target === 'string') return { url: target };
  return { nodes: target.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) };
}

/** Commands without their id (the child's replies are matched by it). */
type Request = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;

export class IoredisChild {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  readonly #replies = new Map<number, ReturnType<typeof deferred<Reply>>>();
  #next = 0;

  constructor(connection: Connection) {
    this.process = fork(join(__dirname, '..', 'fixtures', 'ioredis-child.ts'), [JSON.stringify(connection)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = deferred<void>();
    ready.promise.catch(() => {});
    this.ready = ready.promise;
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        const gone = new Error(`ioredis-child ${this.process.pid} exited (code ${code}, signal ${signal})`);
        ready.reject(gone);
        for (const reply of this.#replies.values()) reply.reject(gone);
        this.#replies.clear();
        resolve();
      });
    });
    this.process.on('message', (message: Reply | { ready: true }) => {
      if ('ready' in message) {
        ready.resolve();
        return;
      }
      const reply = this.#replies.get(message.id);
      this.#replies.delete(message.id);
      if (message.error !== undefined) reply?.reject(new Error(message.error));
      else reply?.resolve(message);
    });
  }

  ask(command: Request): Promise<Reply> {
    const id = ++this.#next;
    const reply = deferred<Reply>();
    this.#replies.set(id, reply);
    this.process.send({ ...command, id });
    return reply.promise;
  }

  setup(command: Omit<SetupCommand, 'op' | 'id'>): Promise<Reply> {
    return this.ask({ op: 'setup', ...command });
  }

  async quit(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await this.ask({ op: 'quit' }).catch(() => {});
    await this.exited;
  }
}
