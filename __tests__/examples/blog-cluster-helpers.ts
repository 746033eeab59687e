import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../helpers/redis-server';

const ROOT = join(__dirname, '..', '..');

/** One HTTP answer. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** `npm run example` running as a child process (its own process group). */
export interface RunningCluster {
  readonly child: ChildProcess;
  readonly port: number;
  /** stdout so far, with each stderr chunk marked `[stderr] `. */
  output(): string;
  /** stderr so far, alone. */
  stderr(): string;
  /** One request on a new connection, so the primary hands it to the next worker. */
  send(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<Reply>;
  /** SIGKILLs the primary and its workers if still running. */
  kill(): Promise<void>;
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Whether a post page's related posts came from the cache: Redis (`hit`) or the worker's local tier (`local`). */
export const cacheHit = (reply: Reply) => reply.headers['x-cache'] === 'hit' || reply.headers['x-cache'] === 'local';

/** The slugs of the related-posts list of a post page. */
export const relatedSlugs = (page: string) =>
  [...(/<ol class="related">(.*?)<\/ol>/s.exec(page)?.[1] ?? '').matchAll(/href="\/posts\/([^"]+)"/g)].map((m) =>
    decodeURIComponent(m[1] as string),
  );

/** GETs `path` until each of `workers` workers has answered it; returns every reply, by worker pid. */
export async function fromEveryWorker(
  cluster: RunningCluster,
  path: string,
  workers: number,
): Promise<Map<string, Reply[]>> {
  const byWorker = new Map<string, Reply[]>();
  for (let i = 0; i < 20 * workers && byWorker.size < workers; i++) {
    const reply = await cluster.send('GET', path);
    expect(reply.status).toBe(200);
    const pid = String(reply.headers['x-worker'] ?? JSON.parse(reply.body).pid);
    byWorker.set(pid, [...(byWorker.get(pid) ?? []), reply]);
  }
  expect(byWorker.size).toBe(workers);
  return byWorker;
}

/**
 * The lines of `stderr` other than the memoizer's deadline reports (`cache: E_TIMEOUT: …`, from the
 * app's `onError` hook). On a loaded machine (chromium and other test workers on 2 cores) a store
 * command can take longer than the 250 ms deadline; the app then answers without the cache, as it
 * is built to, and reports it. Any other line (a stack trace, an unhandled rejection, another cache
 * error) is kept.
 */
export const unexpectedStderr = (stderr: string) =>
  stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('cache: E_TIMEOUT: '));

/** Polls `check` every 50 ms until it is true; throws `what` with `detail()` after `ms`. */
export async function waitFor(check: () => boolean, what: string, detail: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts examples/blog/main.ts with `env` on a free port (PORT is set here) and waits for
 * `listening` (say, '3 workers listening') in its output. A port handed out by `freePort` can be
 * taken before the workers bind it (another test's server, or an outgoing connection's local port
 * from the same range): then it starts again on another, up to 3 times.
 */
export async function startCluster(env: Record<string, string>, listening: string): Promise<RunningCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOn(env, await freePort(), listening);
    } catch (error) {
      if (attempt === 3 || !(error instanceof PortTaken)) throw error;
    }
  }
}

/** The cluster exited because its port was taken before it bound it. */
class PortTaken extends Error {}

async function startClusterOn(env: Record<string, string>, port: number, listening: string): Promise<RunningCluster> {
  let output = '';
  let stderr = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/blog/main.ts'], {
    cwd: ROOT,
    // Its own process group, so the test can signal the primary and its workers at once.
    detached: true,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += `[stderr] ${chunk}`;
    stderr += chunk;
  });

  function send(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<Reply> {
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method,
          agent: false,
          headers: body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  const cluster: RunningCluster = {
    child,
    port,
    output: () => output,
    stderr: () => stderr,
    send,
    async kill() {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(-child.pid, 'SIGKILL');
        await exited(child);
      }
    },
  };
  try {
    await waitFor(
      () => output.includes(listening) || child.exitCode !== null,
      `'${listening}'`,
      () => output,
      50_000,
    );
  } catch (error) {
    await cluster.kill();
    throw error;
  }
  if (child.exitCode !== null) {
    const message = `the cluster exited before '${listening}':\n${output}`;
    throw stderr.includes('EADDRINUSE') ? new PortTaken(message) : new Error(message);
  }
  return cluster;
}
