import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Db, openDatabase } from '../../examples/blog/database';
import { seedIfEmpty } from '../../examples/blog/seed';

const dirs: string[] = [];
const dbs: Db[] = [];

function freshDatabase(): Db {
  const dir = mkdtempSync(join(tmpdir(), 'blog-seed-'));
  dirs.push(dir);
  const db = openDatabase(dir);
  dbs.push(db);
  return db;
}

afterAll(() => {
  for (const db of dbs) db.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const dump = (db: Db) => ({
  posts: db.prepare('SELECT * FROM posts ORDER BY id').all(),
  keywords: db.prepare('SELECT * FROM post_keywords ORDER BY post_id, keyword').all(),
});

it('seeds the same blog every time, in WAL mode', () => {
  const [first, second] = [freshDatabase(), freshDatabase()];
  expect(seedIfEmpty(first, 300)).toBe(300);
  expect(seedIfEmpty(second, 300)).toBe(300);
  expect(dump(first)).toEqual(dump(second));
  expect(first.pragma('journal_mode', { simple: true })).toBe('wal');
});

it('gives every post a unique slug, a date in the ten years before 2025, and 3 to 7 keywords', () => {
  const db = freshDatabase();
  seedIfEmpty(db, 500);
  const { posts } = dump(db) as { posts: { slug: string; published_at: string }[] };
  expect(new Set(posts.map((p) => p.slug)).size).toBe(500);
  for (const { published_at } of posts) expect(published_at >= '2015' && published_at < '2025').toBe(true);
  const counts = db.prepare('SELECT COUNT(*) AS n FROM post_keywords GROUP BY post_id').pluck().all() as number[];
  expect(counts).toHaveLength(500);
  expect(Math.min(...counts)).toBeGreaterThanOrEqual(3);
  expect(Math.max(...counts)).toBeLessThanOrEqual(7);
});

it('does nothing when the database already has posts', () => {
  const db = freshDatabase();
  seedIfEmpty(db, 10);
  expect(seedIfEmpty(db, 10)).toBe(0);
  expect(db.prepare('SELECT COUNT(*) FROM posts').pluck().get()).toBe(10);
});
