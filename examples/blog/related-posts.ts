import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { CallEvent, Memoize, Memoized } from '../../lib';
import type { PostRepository, PostSummary, RelatedList } from './posts';
import type { Answer } from './stats';

/**
 * How one request got its related posts: from this worker's local tier (`local`, no round trip),
 * from Redis (`hit`), by running the query (`miss`), by joining a query another request of this
 * worker had already started (`shared`), or bypassing the cache (`?nocache=1`).
 */
export type Outcome = 'local' | 'hit' | 'miss' | 'shared' | 'bypass';

/** The related posts of one request, and how it got them. */
export interface RelatedLookup {
  posts: PostSummary[];
  outcome: Outcome;
  durationMs: number;
}

/** The memoized `getRelatedPosts`, and a way to call it that tells how the call was answered. */
export interface RelatedPosts {
  readonly getRelatedPosts: Memoized<[id: number], RelatedList>;
  lookup(id: number, options?: { bypassCache?: boolean }): Promise<RelatedLookup>;
}

/** The tag of every related list found from `keyword`: `kw:<keyword>`. */
export function keywordTag(keyword: string): string {
  return `kw:${keyword}`;
}

/** How the call a hit or miss hook saw was answered. */
export function answerOf(kind: 'hit' | 'miss', event: CallEvent): Answer {
  return kind === 'hit' && event.local === true ? 'local' : kind;
}

/**
 * Wraps the repository's related-posts query with
 * `memoize(getRelatedPosts, { ttl: '1h', keyPrefix, local: true, tags })`, each list tagged with the
 * keywords of the post it was found from, so that `invalidateTags` reaches every list a keyword
 * change can alter.
 *
 * @param memoize - the app's memoizer (one per app, so several apps can live in one process)
 */
export function createRelatedPosts(posts: PostRepository, memoize: Memoize, keyPrefix: string): RelatedPosts {
  // The hooks run inside the call that did the work, so this store names the request it served.
  const current = new AsyncLocalStorage<{ outcome: Outcome }>();
  const mark = (kind: 'hit' | 'miss') => (event: CallEvent) => {
    const call = current.getStore();
    if (call !== undefined) call.outcome = answerOf(kind, event);
  };

  function getRelatedPosts(id: number): RelatedList {
    return posts.related(id);
  }
  // local: a worker answers repeated views of a post from its own memory, and Redis tells every
  // worker to drop its copy when any worker invalidates the entry.
  const memoized = memoize(getRelatedPosts, {
    ttl: '1h',
    keyPrefix,
    local: true,
    tags: (list) => list.keywords.map(keywordTag),
    onHit: mark('hit'),
    onMiss: mark('miss'),
  });

  return {
    getRelatedPosts: memoized,
    async lookup(id, { bypassCache = false } = {}) {
      const started = performance.now();
      if (bypassCache) {
        const list = await memoized.original(id);
        return { posts: list.posts, outcome: 'bypass', durationMs: performance.now() - started };
      }
      // Stays 'shared' when no hook fires for this call: it joined one already in flight.
      const call: { outcome: Outcome } = { outcome: 'shared' };
      const list = await current.run(call, () => memoized(id));
      return { posts: list.posts, outcome: call.outcome, durationMs: performance.now() - started };
    },
  };
}
