import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

// examples/tracing.ts runs as written (no Redis, no OpenTelemetry) and prints the spans its bridge
// made: each cache call a child of the request, and each miss's query a child of its cache call.

const run = promisify(execFile);

test('the tracing example prints cache spans under the request and queries under the misses', async () => {
  const root = join(__dirname, '..', '..');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/tracing.ts'], {
    cwd: root,
    timeout: 20_000,
  });
  expect(stdout.trim().split('\n')).toEqual([
    'GET /team',
    '  cache-memoize getUser  cache_memoize.outcome=miss',
    '    db.query  db.statement=SELECT * FROM users WHERE id = 1',
    '  cache-memoize getUser  cache_memoize.outcome=miss',
    '    db.query  db.statement=SELECT * FROM users WHERE id = 2',
    'GET /team',
    '  cache-memoize getUser  cache_memoize.outcome=hit',
    '  cache-memoize getUser  cache_memoize.outcome=hit',
    '  cache-memoize getUser  cache_memoize.outcome=miss',
    '    db.query  db.statement=SELECT * FROM users WHERE id = 3',
  ]);
});
