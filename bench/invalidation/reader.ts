import type { FromReader, SideKind, ToReader } from './protocol';
import { wallClock } from './protocol';
import { openSide } from './sides';

// Process A of the invalidation benchmark (forked with `--import tsx`): argv = url, side kind, prefix.
// Reads the entry in a loop, yielding to the event loop between reads (so invalidation messages are
// handled as in a busy server), and reports every version it has not returned before.

function send(message: FromReader): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const [url, kind, prefix] = process.argv.slice(2) as [string, SideKind, string];
  process.on('disconnect', () => process.exit());
  const side = await openSide(kind, url, prefix);
  let running = true;
  process.on('message', (message: ToReader) => {
    if (message.op === 'quit') running = false;
  });
  let last = Number.NaN;
  while (running) {
    const version = await side.read();
    if (version !== last) {
      send({ op: 'seen', version, at: wallClock() });
      last = version;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await side.close();
  process.disconnect();
}

main().catch((error: unknown) => {
  send({ op: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});
