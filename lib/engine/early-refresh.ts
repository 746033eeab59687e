/**
 * XFetch (Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic Cache Stampede Prevention",
 * VLDB 2015): refresh early when `now - computeMs * beta * ln(random) >= freshUntil`. `ln(random)` is
 * negative, so the left side runs ahead of the clock by a random amount scaled by the computation's
 * cost: far from expiry almost never, at expiry always, and more likely the closer it gets.
 *
 * @param now - epoch milliseconds
 * @param freshUntil - epoch milliseconds at which the entry stops being fresh
 * @param computeMs - how long the function took when the entry was written
 * @param beta - eagerness (1 is the paper's optimum)
 * @param random - uniform in [0, 1)
 */
export function shouldRefreshEarly(
  now: number,
  freshUntil: number,
  computeMs: number,
  beta: number,
  random: () => number,
): boolean {
  if (now >= freshUntil) return true;
  return now - computeMs * beta * Math.log(random()) >= freshUntil;
}
