import { isNoScript } from './replies';

/**
 * How a client sends the library's scripts: the first run of each as `EVAL` (which also caches it on
 * the server), then `EVALSHA`, and `EVAL` again after a `NOSCRIPT` (a restarted or flushed server,
 * another cluster node). Sending `EVALSHA` first would have an unknown script refused and sent again
 * after whatever the process sent meanwhile: a miss's write, not waited for, would then land after
 * the next call's read on the same connection.
 */
export class ScriptLoading {
  readonly #sent = new Set<string>();

  run(sha1: string, evalSha: () => Promise<unknown>, evalSource: () => Promise<unknown>): Promise<unknown> {
    if (this.#sent.has(sha1)) return this.#again(evalSha, evalSource);
    // Marked once sent: the calls after it go out after it, on the same connection.
    const reply = evalSource();
    this.#sent.add(sha1);
    return reply;
  }

  async #again(evalSha: () => Promise<unknown>, evalSource: () => Promise<unknown>): Promise<unknown> {
    try {
      return await evalSha();
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return evalSource();
    }
  }
}
