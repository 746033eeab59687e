import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
  'redis-server is not on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis)';

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

/**
 * The process id of the redis-server answering on `port` (`INFO server`), or `undefined` when none
 * answers. Telling servers apart by pid matters: a port handed out by {@link freePort} can be taken
 * by another server before ours binds it, and then that one answers while ours has exited.
 */
function answeringPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(200, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.connect(port, '127.0.0.1', () => socket.write('INFO server\r\n'));
    socket.on('data', (data) => {
      reply += data.toString();
      const pid = /process_id:(\d+)/.exec(reply);
      if (pid !== null) done(Number(pid[1]));
      else if (reply.startsWith('-')) done(undefined);
    });
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
 */
export async function spawnRedis(options: SpawnRedisOptions = {}): Promise<RedisServer> {
  assertRedisServerInstalled();
  // A free port may be taken before the server binds it: then try another, unless the caller chose it.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await spawnOn(port, options);
    } catch (error) {
      if (options.port !== undefined || attempt === 3) throw error;
    }
  }
}

async function spawnOn(port: number, options: SpawnRedisOptions): Promise<RedisServer> {
  // Its own directory: a replica writes the RDB it syncs, and a server started where one lies would
  // load it and not start empty (a cluster node would then refuse to join).
  const dir = mkdtempSync(join(tmpdir(), `cache-memoize-redis-${port}-`));
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
    rmSync(join(dir, 'dump.rdb'), { force: true });
    const starting = spawn('redis-server', args, { stdio: 'ignore', cwd: dir });
    child = starting;
    try {
      await waitUntil(async () => {
        if (starting.exitCode !== null || starting.signalCode !== null) {
          throw new Error(`redis-server on port ${port} exited at start (${starting.exitCode ?? starting.signalCode})`);
        }
        return (await answeringPid(port)) === starting.pid;
      }, `redis-server on port ${port}`);
    } catch (error) {
      starting.kill('SIGKILL');
      await exited(starting);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
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
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
