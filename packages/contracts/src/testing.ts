/** A seeded linear congruential generator for fuzz tests: the same cases on every run. */
export function seededRandom(seed: number): (n: number) => number {
  let s = seed >>> 0;
  /** An integer in [0, n). */
  return (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
}
