import { performance } from 'node:perf_hooks';
import type { PostRepository } from './posts';

/** Times the uncached related-posts query on `samples` posts spread over the blog; returns the median in ms. */
export function medianRelatedMs(posts: PostRepository, samples = 25): number {
  const count = posts.count();
  const ids = Array.from({ length: samples }, (_, i) => 1 + Math.floor((i * count) / samples));
  const times = ids
    .map((id) => {
      const started = performance.now();
      posts.related(id);
      return performance.now() - started;
    })
    .sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}
