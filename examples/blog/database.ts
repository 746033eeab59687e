import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** An open connection to the blog's SQLite file. */
export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS posts (
  id INTEGER PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  published_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS posts_published_at ON posts (published_at);
CREATE TABLE IF NOT EXISTS post_keywords (
  post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  keyword TEXT NOT NULL,
  PRIMARY KEY (post_id, keyword)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS post_keywords_keyword ON post_keywords (keyword, post_id);
`;

/**
 * Opens (creating it if needed) `blog.sqlite` in `dataDir`, in WAL mode, with the schema in place.
 * Every worker opens its own connection to the same file.
 */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'blog.sqlite'));
  // WAL: readers in every worker go on while one worker writes.
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  return db;
}
