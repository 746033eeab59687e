import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClientType } from 'redis';
import request from 'supertest';
import { createBlogApp } from '../../examples/blog/app';
import { type Db, openDatabase } from '../../examples/blog/database';
import { createPostRepository, type PostSummary } from '../../examples/blog/posts';
import { seedIfEmpty } from '../../examples/blog/seed';
import { connect, uniquePrefix } from '../helpers/redis';

// The blog's `/metrics`: the cache's Prometheus metrics, counting the pages it served.

let dataDir: string;
let db: Db;
let redis: RedisClientType;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'blog-metrics-'));
  db = openDatabase(dataDir);
  // A small blog: what is measured here is the cache's counters, not the related-posts query.
  seedIfEmpty(db, 500);
  redis = await connect();
}, 60_000);

afterAll(async () => {
  await redis?.close();
  db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The count of `getRelatedPosts` calls with `outcome` in a `/metrics` page. */
function calls(page: string, outcome: string): number {
  const line = new RegExp(
    `^cache_memoize_calls_total\\{function="getRelatedPosts",outcome="${outcome}"\\} (\\d+)$`,
    'm',
  );
  return Number(line.exec(page)?.[1] ?? 0);
}

test('/metrics counts the related-posts lookups of the pages served, by outcome', async () => {
  const posts = createPostRepository(db);
  const { app } = createBlogApp({ posts, redis, keyPrefix: uniquePrefix('blog-metrics'), warn: () => {} });
  const before = await request(app)
    .get('/metrics')
    .expect(200)
    .expect('Content-Type', /text\/plain/);
  const post = posts.list(7, 1)[0] as PostSummary;
  const href = `/posts/${encodeURIComponent(post.slug)}`;
  await request(app).get(href).expect(200);
  await request(app).get(href).expect(200);
  const after = await request(app).get('/metrics').expect(200);
  expect(calls(after.text, 'miss') - calls(before.text, 'miss')).toBe(1);
  expect(calls(after.text, 'hit') - calls(before.text, 'hit')).toBe(1);
  expect(after.text).toContain('# TYPE cache_memoize_duration_seconds histogram');
  expect(after.text).toContain('# TYPE cache_memoize_store_errors_total counter');
});
