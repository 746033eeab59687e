/**
 * `npm run bench:faults`: runs the fault scenarios of the test suite against real redis-server
 * processes and prints what each one cost: calls made and failed, worst added latency, time to resume.
 */
import { downAtBoot, type Figures, killMidFlight, paused, refusedWrites } from '../__tests__/faults/scenarios';

function row(f: Figures): string {
  const reported = Object.entries(f.reported)
    .map(([code, n]) => `${code}x${n}`)
    .join(' ');
  const notes = Object.entries(f.notes)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const resume = f.resumeMs === undefined ? '-' : `${Math.round(f.resumeMs)} ms`;
  return `| ${f.scenario} | ${f.calls} | ${f.failed} | ${Math.round(f.worstAddedMs)} ms | ${resume} | ${reported} | ${notes} |`;
}

async function main(): Promise<void> {
  const all: Figures[] = [];
  for (const run of [downAtBoot, killMidFlight, () => paused(3000), refusedWrites]) {
    const figures = await run();
    all.push(...(Array.isArray(figures) ? figures : [figures]));
  }
  console.log(`node ${process.version}, deadline 250 ms, breaker 5 failures / 1 s, function 20 ms`);
  console.log('| scenario | calls | failed | worst added latency | resume after recovery | reported | notes |');
  console.log('|---|---|---|---|---|---|---|');
  for (const f of all) console.log(row(f));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
