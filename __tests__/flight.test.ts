import { type Flight, Flights } from '../lib/engine/flight';

function flight(): Flight<number> {
  return { promise: Promise.resolve(1), superseded: false };
}

describe('Flights registry', () => {
  test('a detached key is no longer joinable, and only its own flight detaches it', () => {
    const flights = new Flights<number>();
    const a = flight();
    const b = flight();
    flights.add('k', a);
    expect(flights.get('k')).toBe(a);
    flights.add('k', b); // replaced, e.g. by refresh()
    flights.detach('k', a); // the old owner settling must not detach the new flight
    expect(flights.get('k')).toBe(b);
    flights.detach('k', b);
    expect(flights.get('k')).toBeUndefined();
    expect(flights.size).toBe(0);
    flights.detach('k', b); // twice is harmless
    flights.add('k', a);
    expect(flights.get('k')).toBe(a);
    expect(flights.size).toBe(1);
  });

  test('detach without a flight detaches whatever is there; detachAll clears everything', () => {
    const flights = new Flights<number>();
    flights.add('a', flight());
    flights.add('b', flight());
    flights.detach('a');
    expect(flights.get('a')).toBeUndefined();
    expect(flights.size).toBe(1);
    flights.detachAll();
    expect(flights.get('b')).toBeUndefined();
    expect(flights.size).toBe(0);
  });

  test('settled keys are swept, so many distinct keys do not grow memory without bound', () => {
    const flights = new Flights<number>(10);
    const live = flight();
    flights.add('live', live);
    for (let i = 0; i < 1000; i++) {
      const f = flight();
      flights.add(`k${i}`, f);
      flights.detach(`k${i}`, f);
    }
    expect(flights.size).toBe(1);
    expect(flights.get('live')).toBe(live);
    expect(flights.retainedKeys).toBeLessThanOrEqual(10 + 1);
  });
});
