import { cpus, loadavg } from 'node:os';
import type { Comparison } from './measure';

/** One line of the results table: a contender measured against a baseline, and its target if it has one. */
export interface BenchResult extends Comparison {
  suite: 'keys' | 'hit' | 'local' | 'miss' | 'fan-out';
  case: string;
  baselineName: string;
  candidateName: string;
  /** Minimum `ratio` for the case to pass; absent for cases reported for information only. */
  target?: number;
  /** `ratio >= target`; absent when there is no target. */
  pass?: boolean;
  /** Keys of a list argument: its element count, for the cost per element. */
  elements?: number;
  /**
   * Redis's CPU time per call, in microseconds (its main thread, median of the rounds): what each
   * call costs the server, whatever the client does meanwhile. Measured for misses.
   */
  serverMicros?: { baseline: number; candidate: number };
}

/** Where and how a run was made, printed above the table and stored with the results. */
export interface Environment {
  node: string;
  redisServer: string;
  cpu: string;
  cpuCount: number;
  platform: string;
  /** 1-minute load average when the run ended (the run itself included): well above the core count, other work shared the CPUs. */
  loadAverage: number;
  rounds: number;
  /** `name version` of the packages compared. */
  packages: string;
  date: string;
}

/** Cross-process invalidation latency of one local tier: from a write resolving to another process seeing it. */
export interface InvalidationResult {
  contender: string;
  samples: number;
  /** Writes the other process had not seen within the wait limit (not in the percentiles). */
  unseen: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Everything one `npm run bench` measured, as saved to `bench/results/latest.json`. */
export interface Run {
  env: Environment;
  results: BenchResult[];
  invalidation: InvalidationResult[];
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
export function describeEnvironment(redisServer: string, rounds: number, packages: string): Environment {
  return {
    node: process.version,
    redisServer,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus().length,
    platform: `${process.platform}-${process.arch}`,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    rounds,
    packages,
    date: new Date().toISOString(),
  };
}

function rate(opsPerSecond: number): string {
  return Math.round(opsPerSecond).toLocaleString('en-US');
}

function times(ratio: number, digits = 2): string {
  return `${ratio.toFixed(digits)}x`;
}

/** Aligned columns: those in `text` to the left, figures to the right. */
function table(header: string[], rows: string[][], text: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (text.has(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** Renders the environment header and the throughput table as plain text. */
export function formatReport(env: Environment, results: readonly BenchResult[]): string {
  const header = ['case', 'contender', 'baseline ops/s', 'ops/s', 'ratio', 'round ratios', 'target', 'result'];
  const rows = results.map((r, i) => {
    const previous = results[i - 1];
    const sameCase = previous !== undefined && previous.suite === r.suite && previous.case === r.case;
    return [
      sameCase ? '' : `${r.suite}: ${r.case}`,
      r.candidateName,
      rate(r.baselineMedian),
      rate(r.candidateMedian),
      times(r.ratio),
      `${times(r.pairRatioMin)}..${times(r.pairRatioMax)}`,
      r.target === undefined ? '-' : `>= ${times(r.target)}`,
      r.pass === undefined ? 'info' : r.pass ? 'PASS' : 'FAIL',
    ];
  });
  const baselines = [...new Set(results.map((r) => `${r.suite}: baseline = ${r.baselineName}`))];
  const perElement = formatPerElement(results);
  return [
    `node ${env.node} | redis-server ${env.redisServer} | ${env.cpu} x${env.cpuCount} | ${env.platform} | load ${env.loadAverage}`,
    env.packages,
    `${env.rounds} interleaved rounds per contender; medians; ratio = contender / baseline of the same rounds (higher is better)`,
    ...baselines,
    '',
    ...table(header, rows, new Set([0, 1, 6, 7])),
    ...(perElement.length === 0 ? [] : ['', ...perElement]),
  ].join('\n');
}

/** Microseconds per element of the list cases (medians), and how the cost grows from the shortest list. */
export function perElementCosts(results: readonly BenchResult[]): Array<{
  elements: number;
  candidateUs: number;
  baselineUs: number;
  growth: number;
}> {
  const lists = results.filter((r) => r.elements !== undefined && r.elements >= 1000);
  const us = (opsPerSecond: number, elements: number) => 1e6 / opsPerSecond / elements;
  const first = lists[0];
  const firstUs = first === undefined ? Number.NaN : us(first.candidateMedian, first.elements ?? 1);
  return lists.map((r) => {
    const elements = r.elements ?? 1;
    const candidateUs = us(r.candidateMedian, elements);
    return { elements, candidateUs, baselineUs: us(r.baselineMedian, elements), growth: candidateUs / firstUs };
  });
}

function formatPerElement(results: readonly BenchResult[]): string[] {
  const costs = perElementCosts(results);
  if (costs.length === 0) return [];
  const rows = costs.map((c) => [
    c.elements.toLocaleString('en-US'),
    c.candidateUs.toFixed(3),
    c.baselineUs.toFixed(3),
    times(c.growth),
  ]);
  return [
    'keys: cost per element of a list of objects (target: flat, the same from 1,000 to 100,000)',
    ...table(['elements', 'entryKey µs', 'objectHash µs', 'entryKey vs 1,000'], rows, new Set()),
  ];
}

/** Renders Redis's CPU time per call of the cases that measured it, as plain text. */
export function formatServerCost(results: readonly BenchResult[]): string {
  const measured = results.filter((r) => r.serverMicros !== undefined);
  if (measured.length === 0) return '';
  const rows: string[][] = [];
  let lastCase = '';
  for (const r of measured) {
    const cost = r.serverMicros as { baseline: number; candidate: number };
    const title = `${r.suite}: ${r.case}`;
    if (title !== lastCase) rows.push([title, r.baselineName, cost.baseline.toFixed(1), '1.0x']);
    lastCase = title;
    rows.push(['', r.candidateName, cost.candidate.toFixed(1), times(cost.candidate / cost.baseline, 1)]);
  }
  return [
    "Redis's CPU time per call (its main thread, INFO cpu; medians of the same rounds; lower is better)",
    '',
    ...table(['case', 'contender', 'Redis µs per call', 'vs baseline'], rows, new Set([0, 1])),
  ].join('\n');
}

function ms(value: number): string {
  return value.toFixed(2);
}

/** Renders the cross-process invalidation latencies as plain text. */
export function formatInvalidation(results: readonly InvalidationResult[]): string {
  const header = ['local tier', 'samples', 'unseen', 'p50 ms', 'p99 ms', 'max ms'];
  const rows = results.map((r) => [
    r.contender,
    String(r.samples),
    String(r.unseen),
    ms(r.p50Ms),
    ms(r.p99Ms),
    ms(r.maxMs),
  ]);
  return [
    'Invalidation: process B writes a new value, process A (reading in a loop) first sees it; ms after the write resolved',
    '',
    ...table(header, rows, new Set([0])),
  ].join('\n');
}

function roundFigures(key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isInteger(value)) return value;
  // Throughputs to whole operations (3 digits below 100), ratios to four decimals, latencies to
  // microseconds: more digits are noise.
  if (/ratio/i.test(key)) return Math.round(value * 1e4) / 1e4;
  if (key.endsWith('Ms')) return Math.round(value * 1e3) / 1e3;
  // A 100,000-element key takes about a third of a second: a few operations a second, kept to 3 digits.
  return Math.abs(value) < 100 ? Number(value.toPrecision(3)) : Math.round(value);
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
export function toJson(run: Run): string {
  const data = JSON.parse(JSON.stringify(run, roundFigures)) as unknown;
  return `${render(data, '', 0)}\n`;
}

/** A README table row: the baseline's and the candidate's medians, and their ratio with its round range. */
export function markdownRow(name: string, comparison: Comparison): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const { baselineMedian, candidateMedian, ratio, pairRatioMin, pairRatioMax } = comparison;
  return `| ${name} | ${fmt(baselineMedian)} | ${fmt(candidateMedian)} | ${ratio.toFixed(2)}x (${pairRatioMin.toFixed(2)}–${pairRatioMax.toFixed(2)}) |`;
}
