import { refusedWrites } from './scenarios';

// Real redis-server processes: one with maxmemory 1 + noeviction, and a read-only replica of it.
test('refused writes (OOM, READONLY): every call still gets its result; onError gets E_WRITE_REFUSED; nothing is stored', async () => {
  const [oom, readonly] = await refusedWrites();
  for (const figures of [oom!, readonly!]) {
    expect(figures.failed).toBe(0);
    expect(figures.calls).toBe(100);
    expect(figures.reported.E_WRITE_REFUSED).toBeGreaterThan(0);
    expect(Object.keys(figures.reported)).toEqual(['E_WRITE_REFUSED']);
    // Nothing could be stored, so no call was a hit: each of the 100 ran the function (10 lanes share
    // a flight only while one is in progress).
    expect(figures.notes.stored).toBe(false);
    expect(figures.notes.runs).toBeGreaterThanOrEqual(10);
  }
});
