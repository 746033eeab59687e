import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** The example's settings, from the environment. */
export interface Config {
  /** `PORT`, shared by every worker. @default 3000 */
  port: number;
  /** `WORKERS`. @default the number of CPUs, at least 2 */
  workers: number;
  /** `REDIS_URL`. @default 'redis://127.0.0.1:6379' */
  redisUrl: string;
  /** `DATA_DIR`, where `blog.sqlite` lives. @default examples/blog/.data */
  dataDir: string;
  /** `KEY_PREFIX`, first part of every Redis key. @default 'blog' */
  keyPrefix: string;
  /**
   * Set by the primary for its workers: 'memory' when no Redis answered, so the one worker keeps
   * the cache in process.
   */
  store: 'redis' | 'memory';
}

/** The environment variable the primary uses to tell its workers which store to use. */
export const STORE_ENV = 'BLOG_STORE';

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Reads {@link Config} from `env`.
 * @throws Error naming the variable when a value is invalid
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: integer(env, 'PORT', 3000, 0, 65_535),
    workers: integer(env, 'WORKERS', Math.max(2, availableParallelism()), 1, 256),
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    dataDir: env.DATA_DIR || join(__dirname, '.data'),
    keyPrefix: env.KEY_PREFIX || 'blog',
    store: env[STORE_ENV] === 'memory' ? 'memory' : 'redis',
  };
}
