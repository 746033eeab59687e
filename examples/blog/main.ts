/**
 * `npm run example`: the blog as a node:cluster app. The primary seeds the database and forks the
 * workers; each worker serves the app on the shared port. See README.md beside this file.
 */
import cluster from 'node:cluster';
import { readConfig } from './config';
import { runPrimary } from './primary';
import { runWorker } from './worker';

async function main(): Promise<void> {
  const config = readConfig();
  await (cluster.isPrimary ? runPrimary(config) : runWorker(config));
}

main().catch((error: unknown) => {
  console.error(`blog: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
