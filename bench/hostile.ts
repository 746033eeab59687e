/**
 * `npm run bench:hostile`: what hostile results and stored bytes cost. Each refusal runs in a fresh
 * child process: the time to refuse a huge result as E_TOO_LARGE, and how far the process's RSS rose
 * above what it was with the result already built. Decoding is timed against
 * JSON.parse of the same bytes, in the same process, as ratios.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { SerializationError } from '../lib/errors';
import { decode, encode } from '../lib/serializer';

const MiB = 1024 * 1024;
const MAX_VALUE_BYTES = 8 * MiB;

/** Results whose refusal is measured, built before the clock starts. */
const RESULTS: Record<string, () => unknown> = {
  'new Array(1e7)': () => new Array(1e7),
  // Short enough by length that its holes are written (as undefined) until the limit is passed.
  'new Array(5e6)': () => new Array(5e6),
  '1e6 NaN': () => new Array(1e6).fill(Number.NaN),
  '1e6 objects with an undefined field': () => Array.from({ length: 1e6 }, (_, i) => ({ i, gone: undefined })),
  'Map of 1e6 entries': () => new Map(Array.from({ length: 1e6 }, (_, i) => [i, i])),
  '1e7 zeros (plain JSON)': () => new Array(1e7).fill(0),
};

interface Refusal {
  result: string;
  ms: number;
  peakGrowthMiB: number;
  code: string;
}

// Samples the process's RSS every millisecond from another thread, which runs while encode blocks
// the main one: the peak during the refusal, not the process's high-water mark since it started.
const SAMPLER = `
const { workerData } = require('node:worker_threads');
const peak = new Int32Array(workerData);
setInterval(() => Atomics.store(peak, 0, Math.max(Atomics.load(peak, 0), process.memoryUsage.rss() / 1024)), 1);
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** In a child: refuse one result and report the figures to the parent. */
async function refuseOne(name: string): Promise<void> {
  const make = RESULTS[name];
  if (make === undefined) throw new Error(`unknown result ${name}`);
  const value = make();
  const peakKiB = new Int32Array(new SharedArrayBuffer(4));
  const sampler = new Worker(SAMPLER, { eval: true, workerData: peakKiB.buffer });
  await sleep(100);
  const rssBefore = process.memoryUsage.rss();
  Atomics.store(peakKiB, 0, 0);
  const started = performance.now();
  let code = 'stored';
  try {
    encode(value, MAX_VALUE_BYTES);
  } catch (error) {
    code = error instanceof SerializationError ? error.code : String(error);
  }
  const ms = performance.now() - started;
  await sleep(20);
  const peakGrowthMiB = Math.max(0, Atomics.load(peakKiB, 0) * 1024 - rssBefore) / MiB;
  await sampler.terminate();
  process.send?.({ result: name, ms, peakGrowthMiB, code } satisfies Refusal);
}

function inChild(name: string): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--refuse', name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve(m as Refusal));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`child for ${name} exited with ${code}`)));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

/** Median times of decode(text) and of JSON.parse of its body, interleaved, and their ratio. */
function decodeAgainstParse(text: string, runs = 9): { decodeMs: number; parseMs: number; ok: boolean } {
  const body = text.slice(4);
  const decodes: number[] = [];
  const parses: number[] = [];
  let ok = false;
  for (let i = 0; i < runs; i++) {
    let started = performance.now();
    JSON.parse(body);
    parses.push(performance.now() - started);
    started = performance.now();
    ok = decode(text).ok;
    decodes.push(performance.now() - started);
  }
  return { decodeMs: median(decodes), parseMs: median(parses), ok };
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, maxValueBytes ${MAX_VALUE_BYTES} (8 MiB)`);
  console.log('\nRefusing a huge result (fresh process each):\n');
  console.log('| result | outcome | time to refuse | peak RSS growth |');
  console.log('|---|---|---|---|');
  for (const name of Object.keys(RESULTS)) {
    const r = await inChild(name);
    console.log(`| ${r.result} | ${r.code} | ${r.ms.toFixed(1)} ms | ${r.peakGrowthMiB.toFixed(1)} MiB |`);
  }

  const decimal = `cm1T{"$":["b","${'7'.repeat(MAX_VALUE_BYTES - 20)}"]}`;
  const hex = encode(7n ** 9_600_000n);
  const cases: Array<[string, string]> = [
    ['8 MiB decimal BigInt envelope (written by earlier versions)', decimal],
    [`${(hex.length / MiB).toFixed(1)} MiB hex BigInt envelope (what encode writes)`, hex],
  ];
  console.log('\nDecoding against JSON.parse of the same bytes (same process, medians of 9):\n');
  console.log('| stored | decodes | decode | JSON.parse | ratio |');
  console.log('|---|---|---|---|---|');
  for (const [label, text] of cases) {
    const { decodeMs, parseMs, ok } = decodeAgainstParse(text);
    const outcome = ok ? 'ok' : 'E_DECODE';
    console.log(
      `| ${label} | ${outcome} | ${decodeMs.toFixed(1)} ms | ${parseMs.toFixed(1)} ms | ${(decodeMs / parseMs).toFixed(2)}x |`,
    );
  }
}

const refuse = process.argv.indexOf('--refuse');
(refuse >= 0 ? refuseOne(process.argv[refuse + 1] as string) : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
