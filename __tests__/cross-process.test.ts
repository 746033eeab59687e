import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { testRedisUrl, uniquePrefix } from './helpers/redis';

type Reply = { result?: { id: number; pid: number }; computed: number; ready?: boolean };

class Child {
  readonly process: ChildProcess;
  readonly #replies: Array<(reply: Reply) => void> = [];
  constructor(keyPrefix: string) {
    this.process = fork(join(__dirname, 'fixtures', 'memo-child.ts'), [testRedisUrl(), keyPrefix], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (reply: Reply) => this.#replies.shift()?.(reply));
  }
  next(): Promise<Reply> {
    return new Promise((resolve) => this.#replies.push(resolve));
  }
  ask(op: 'call' | 'invalidate', id: number): Promise<Reply> {
    const reply = this.next();
    this.process.send({ op, id });
    return reply;
  }
  async quit(): Promise<void> {
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.send({ op: 'quit' });
    await exited;
  }
}

describe('shared across processes', () => {
  let children: Child[] = [];
  afterEach(async () => {
    await Promise.all(children.map((c) => c.quit()));
    children = [];
  });

  test('a value computed in one process is a hit in the others; invalidate in one is seen by all', async () => {
    const prefix = uniquePrefix('processes');
    children = [new Child(prefix), new Child(prefix), new Child(prefix)];
    await Promise.all(children.map((c) => c.next()));
    const [a, b, c] = children as [Child, Child, Child];

    const first = await a.ask('call', 1);
    expect(first.result).toEqual({ id: 1, pid: a.process.pid });
    expect(first.computed).toBe(1);
    for (const other of [b, c]) {
      const reply = await other.ask('call', 1);
      expect(reply.result).toEqual({ id: 1, pid: a.process.pid }); // computed by a, read here
      expect(reply.computed).toBe(0);
    }

    await b.ask('invalidate', 1);
    const afterInvalidate = await c.ask('call', 1);
    expect(afterInvalidate.result).toEqual({ id: 1, pid: c.process.pid });
    expect(afterInvalidate.computed).toBe(1);
    expect((await a.ask('call', 1)).result).toEqual({ id: 1, pid: c.process.pid });
  });
});
