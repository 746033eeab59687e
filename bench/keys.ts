import objectHash from 'object-hash';
import { entryKey } from '../lib/canonical-args';
import { functionKeyPrefix } from '../lib/key';
import { compare, syncRate } from './lib/measure';
import { type BenchResult, verdict } from './lib/report';

/** Settings of {@link runKeys}. */
export interface KeysOptions {
  rounds: number;
  /** Length of one round of one contender. @default 150 */
  roundMs?: number;
}

interface KeysCase {
  name: string;
  args: unknown[];
  target?: number;
}

function smallObject(): Record<string, unknown> {
  return {
    userId: 4217,
    locale: 'en-US',
    filters: { tags: ['node', 'redis'], published: true, since: '2024-01-01' },
    page: { limit: 20, offset: 40 },
  };
}

function itemList(): Array<Record<string, unknown>> {
  return Array.from({ length: 50 }, (_, i) => ({
    id: 1000 + i,
    slug: `post-${1000 + i}`,
    score: i / 7,
    draft: i % 5 === 0,
  }));
}

/** The three argument lists of issue 2, with issue 6's targets. */
export const KEY_CASES: readonly KeysCase[] = [
  { name: '3 primitive args', args: [4217, 'en-US', true] },
  { name: 'small nested object', args: [smallObject()], target: 10 },
  { name: '50-item array of objects', args: [itemList()], target: 10 },
];

/**
 * Key derivation: `entryKey` (canonical encoding + SHA-256, the full per-call cost) against
 * `objectHash(args)` with object-hash's defaults (SHA-1, hex).
 */
export async function runKeys(options: KeysOptions): Promise<BenchResult[]> {
  const { rounds, roundMs = 150 } = options;
  const prefix = functionKeyPrefix('bench', 'getRelatedPosts');
  const results: BenchResult[] = [];
  for (const c of KEY_CASES) {
    const { args } = c;
    const comparison = await compare({
      baseline: (ms) => syncRate(() => objectHash(args), ms),
      candidate: (ms) => syncRate(() => entryKey(prefix, args), ms),
      rounds,
      roundMs,
      warmupMs: roundMs,
    });
    results.push(
      verdict(
        comparison,
        { suite: 'keys', case: c.name, baselineName: 'objectHash(args)', candidateName: 'entryKey(prefix, args)' },
        c.target,
      ),
    );
  }
  return results;
}
