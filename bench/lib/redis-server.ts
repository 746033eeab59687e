import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';

/** A Redis the benchmark talks to: spawned for this run, or the one at `REDIS_URL`. */
export interface BenchRedis {
  readonly url: string;
  /** Whether the server was spawned by this run (and is stopped by {@link BenchRedis.stop}). */
  readonly spawned: boolean;
  /** Stops a spawned server and waits for it to exit; does nothing for `REDIS_URL`. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * The Redis at `REDIS_URL` if set, else a fresh `redis-server` on a free port with no persistence.
 * A spawned server is also killed if the benchmark exits without calling {@link BenchRedis.stop}.
 */
export async function benchRedis(): Promise<BenchRedis> {
  const external = process.env.REDIS_URL;
  if (external) return { url: external, spawned: false, stop: async () => {} };
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'redis-server is not on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL',
    );
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  // Ctrl-C or a crash must not leave an orphaned server behind.
  const killOnExit = () => child.kill('SIGKILL');
  const exitOnSignal = () => process.exit(130);
  process.once('exit', killOnExit);
  process.once('SIGINT', exitOnSignal);
  process.once('SIGTERM', exitOnSignal);
  const deadline = Date.now() + 5000;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not start`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    spawned: true,
    async stop() {
      process.removeListener('exit', killOnExit);
      process.removeListener('SIGINT', exitOnSignal);
      process.removeListener('SIGTERM', exitOnSignal);
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}
