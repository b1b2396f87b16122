// loop.discard_solved: before the next GRPO stage, prompts whose every rollout was
// solved (group accuracy 1) teach nothing — their advantages are all zero — so each is
// dropped with probability p (0.8 in the paper). Randomness comes from the caller's
// seeded rng so a run is reproducible.

/** A group counts as solved at accuracy >= 1 (with numeric MRA, only exact answers reach 1). */
export const SOLVED_ACCURACY = 1 - 1e-9;

export function discardSolved<T>(
  prompts: T[],
  groupAccuracy: ArrayLike<number | undefined> | ((prompt: T, index: number) => number | undefined),
  p = 0.8,
  rng: () => number = Math.random,
): { kept: T[]; dropped: T[] } {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`discard probability must be in [0, 1], got ${p}`);
  const acc = typeof groupAccuracy === 'function' ? groupAccuracy : (_: T, i: number) => groupAccuracy[i];
  const kept: T[] = [];
  const dropped: T[] = [];
  prompts.forEach((prompt, i) => {
    const a = acc(prompt, i);
    // unseen prompts (no accuracy yet) always stay; the rng is only drawn for solved ones
    if (a !== undefined && a >= SOLVED_ACCURACY && rng() < p) dropped.push(prompt);
    else kept.push(prompt);
  });
  return { kept, dropped };
}
