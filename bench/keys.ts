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
  /** Minimum ratio to object-hash. */
  target: number;
  /** Elements of the list argument, for the cost per element. */
  elements?: number;
  /** Calls per clock read: 1 for arguments that take milliseconds. @default 64 */
  batch?: number;
  /** At most this many rounds: object-hash takes seconds on the largest list. */
  maxRounds?: number;
}

function smallObject(): Record<string, unknown> {
  return {
    userId: 4217,
    locale: 'en-US',
    filters: { tags: ['node', 'redis'], published: true, since: '2024-01-01' },
    page: { limit: 20, offset: 40 },
  };
}

function itemList(length: number): Array<Record<string, unknown>> {
  return Array.from({ length }, (_, i) => ({
    id: 1000 + i,
    slug: `post-${1000 + i}`,
    score: i / 7,
    draft: i % 5 === 0,
  }));
}

/** Argument lists from three primitives to a 100,000-object list, with the targets. */
export const KEY_CASES: readonly KeysCase[] = [
  { name: '3 primitive args', args: [4217, 'en-US', true], target: 1 },
  { name: '1 KB string', args: ['k'.repeat(1024)], target: 1 },
  { name: '1 MB string', args: ['m'.repeat(1024 * 1024)], target: 1, batch: 1 },
  // Non-Latin text: V8 stores it two bytes a character, and its UTF-8 is three bytes a character.
  { name: '1 M-character Japanese string', args: ['日本語のテキスト'.repeat(1 << 17)], target: 1, batch: 1 },
  { name: '1 MB Buffer', args: [Buffer.alloc(1024 * 1024, 7)], target: 1, batch: 1 },
  { name: 'small nested object', args: [smallObject()], target: 10 },
  { name: '50-item array of objects', args: [itemList(50)], target: 10, elements: 50 },
  { name: '1,000-item array of objects', args: [itemList(1_000)], target: 10, elements: 1_000, batch: 1 },
  { name: '10,000-item array of objects', args: [itemList(10_000)], target: 10, elements: 10_000, batch: 1 },
  {
    name: '100,000-item array of objects',
    args: [itemList(100_000)],
    target: 10,
    elements: 100_000,
    batch: 1,
    maxRounds: 3,
  },
];

/**
 * Key derivation: `entryKey` (canonical encoding + SHA-256, the full per-call cost) against
 * `objectHash(args)` with object-hash's defaults (SHA-1, hex).
 */
export async function runKeys(options: KeysOptions): Promise<BenchResult[]> {
  const { roundMs = 150 } = options;
  const prefix = functionKeyPrefix('bench', 'getRelatedPosts');
  const results: BenchResult[] = [];
  for (const c of KEY_CASES) {
    const { args, batch = 64, elements } = c;
    const comparison = await compare({
      baseline: (ms) => syncRate(() => objectHash(args), ms, batch),
      candidate: (ms) => syncRate(() => entryKey(prefix, args), ms, batch),
      rounds: Math.min(options.rounds, c.maxRounds ?? options.rounds),
      roundMs,
      warmupMs: roundMs,
    });
    const fields = {
      suite: 'keys',
      case: c.name,
      baselineName: 'objectHash(args)',
      candidateName: 'entryKey(prefix, args)',
    } as const;
    results.push({ ...verdict(comparison, fields, c.target), ...(elements === undefined ? {} : { elements }) });
  }
  return results;
}
