import { cpus } from 'node:os';
import type { Comparison } from './measure';

/** One line of the results table: a case measured with {@link compare}, and its target if it has one. */
export interface BenchResult extends Comparison {
  suite: 'keys' | 'hit';
  case: string;
  baselineName: string;
  candidateName: string;
  /** Minimum `ratio` for the case to pass; absent for cases reported for information only. */
  target?: number;
  /** `ratio >= target`; absent when there is no target. */
  pass?: boolean;
}

/** Where and how a run was made, printed above the table and stored with the results. */
export interface Environment {
  node: string;
  redisServer: string;
  cpu: string;
  cpuCount: number;
  platform: string;
  rounds: number;
  date: string;
}

/** Attaches `target` and the pass verdict to a comparison. */
export function verdict(
  comparison: Comparison,
  fields: Omit<BenchResult, keyof Comparison | 'pass' | 'target'>,
  target?: number,
): BenchResult {
  const result: BenchResult = { ...comparison, ...fields };
  if (target !== undefined) {
    result.target = target;
    result.pass = comparison.ratio >= target;
  }
  return result;
}

/** The machine description: node, CPU model and count, platform; the Redis version comes from INFO. */
export function describeEnvironment(redisServer: string, rounds: number): Environment {
  return {
    node: process.version,
    redisServer,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus().length,
    platform: `${process.platform}-${process.arch}`,
    rounds,
    date: new Date().toISOString(),
  };
}

function rate(opsPerSecond: number): string {
  return Math.round(opsPerSecond).toLocaleString('en-US');
}

function times(ratio: number, digits = 2): string {
  return `${ratio.toFixed(digits)}x`;
}

/** Renders the environment header and the results table as plain text. */
export function formatReport(env: Environment, results: readonly BenchResult[]): string {
  const header = ['case', 'baseline ops/s', 'cache-memoize ops/s', 'ratio', 'round ratios', 'target', 'result'];
  const rows = results.map((r) => [
    `${r.suite}: ${r.case}`,
    rate(r.baselineMedian),
    rate(r.candidateMedian),
    times(r.ratio),
    `${times(r.pairRatioMin)}..${times(r.pairRatioMax)}`,
    r.target === undefined ? '-' : `>= ${times(r.target)}`,
    r.pass === undefined ? 'info' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  // Text columns left-aligned, figures right-aligned.
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i >= 5 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const baselines = [...new Set(results.map((r) => `${r.suite}: baseline = ${r.baselineName}`))];
  return [
    `node ${env.node} | redis-server ${env.redisServer} | ${env.cpu} x${env.cpuCount} | ${env.platform}`,
    `${env.rounds} interleaved rounds per contender; medians; ratio = cache-memoize / baseline (higher is better)`,
    ...baselines,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

function roundFigures(key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isInteger(value)) return value;
  // Throughputs to whole operations, ratios to four decimals: more digits are noise.
  return /ratio/i.test(key) ? Math.round(value * 1e4) / 1e4 : Math.round(value);
}

const LINE_WIDTH = 120;

/** Biome's JSON layout: objects one field a line; scalar arrays on one line, else filled to the width. */
function render(value: unknown, indent: string, column: number): string {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.some((v) => typeof v === 'object' && v !== null)) {
      return `[\n${value.map((v) => inner + render(v, inner, inner.length)).join(',\n')}\n${indent}]`;
    }
    const items = value.map((v) => JSON.stringify(v));
    // +1: the comma that may follow the array.
    if (column + items.join(', ').length + 3 <= LINE_WIDTH) return `[${items.join(', ')}]`;
    const lines: string[] = [];
    let line = '';
    for (const item of items) {
      const next = line === '' ? item : `${line}, ${item}`;
      if (line !== '' && inner.length + next.length + 1 > LINE_WIDTH) {
        lines.push(`${line},`);
        line = item;
      } else {
        line = next;
      }
    }
    lines.push(line);
    return `[\n${lines.map((l) => inner + l).join('\n')}\n${indent}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const fields = Object.entries(value).map(([k, v]) => {
      const head = `${inner}${JSON.stringify(k)}: `;
      return head + render(v, inner, head.length);
    });
    return fields.length === 0 ? '{}' : `{\n${fields.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** The run as JSON, figures rounded, laid out as Biome formats it (so `biome check` stays clean). */
export function toJson(env: Environment, results: readonly BenchResult[]): string {
  const data = JSON.parse(JSON.stringify({ env, results }, roundFigures)) as unknown;
  return `${render(data, '', 0)}\n`;
}
