import { throttle } from '../../examples/blog/throttle';

it('passes the first message of each kind, then one per interval with a count of those held back', () => {
  let clock = 0;
  const warn = jest.fn();
  const report = throttle(warn, 1000, () => clock);
  report('E_UNAVAILABLE', 'down');
  report('E_UNAVAILABLE', 'down');
  report('E_DECODE', 'bad bytes');
  report('E_UNAVAILABLE', 'down');
  expect(warn.mock.calls).toEqual([['down'], ['bad bytes']]);
  clock = 1000;
  report('E_UNAVAILABLE', 'still down');
  report('E_UNAVAILABLE', 'still down');
  clock = 2500;
  report('E_UNAVAILABLE', 'still down');
  clock = 4000;
  report('E_UNAVAILABLE', 'still down');
  expect(warn.mock.calls.slice(2)).toEqual([
    ['still down (and 2 more like it)'],
    ['still down (and 1 more like it)'],
    ['still down'],
  ]);
});
