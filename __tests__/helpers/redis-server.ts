import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A redis-server process owned by the test suite. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The process id of the running server (it changes on {@link restart}). */
  readonly pid: number | undefined;
  /** SIGKILL: the server dies at once, losing its data. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing answers. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Starts a fresh server (empty) on the same port after {@link kill} or {@link stop}. */
  restart(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

const MISSING =
  'redis-server is not on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL';

/** Exits the run with one clear line when redis-server cannot be started. */
export function assertRedisServerInstalled(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(MISSING);
  }
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function waitUntil(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Options of {@link spawnRedis}. */
export interface SpawnRedisOptions {
  /** The port to listen on; a free one by default. */
  port?: number;
  /** Extra arguments for the server, e.g. `['--maxmemory', '1mb']`. */
  args?: string[];
  /** A config file, passed first (redis-server reads a config file only as its first argument). */
  configFile?: string;
}

/**
 * Spawns `redis-server` on a free port (or `port`) with no persistence, and waits until it answers.
 * Extra arguments go to the server, e.g. `['--maxmemory', '1mb']`.
 *
 * Each server works in a directory of its own, removed by {@link RedisServer.stop}: a replica writes
 * the RDB of a full sync to its directory even without persistence, and a server loads a `dump.rdb`
 * it finds there at startup, so a shared one (the repository's root) would leak one test's keys into
 * every server started after it, and make every cluster node start non-empty.
 */
export async function spawnRedis(options: SpawnRedisOptions = {}): Promise<RedisServer> {
  assertRedisServerInstalled();
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'cache-memoize-redis-'));
  const args = [
    ...(options.configFile === undefined ? [] : [options.configFile]),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    ...(options.args ?? []),
  ];
  let child: ChildProcess;

  async function start(): Promise<void> {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitUntil(() => ping(port), `redis-server on port ${port}`);
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid;
    },
    async kill() {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited(child);
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    restart: start,
    async stop() {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
