// Group-relative advantages and the reward-side tricks of the GRPO family, over plain
// arrays: rewards are a handful of numbers per step, so tensors would only add noise.
// Layout everywhere: rows are grouped by prompt, `groupSize` consecutive rows per prompt
// (TRL's `rewards.view(-1, num_generations)`).

export type ScaleRewards = 'group' | 'batch' | 'none';

/** Added to the std before dividing, as in TRL, so constant groups give 0, not NaN. */
export const ADVANTAGE_STD_EPS = 1e-4;

function checkGroups(n: number, groupSize: number, where: string): number {
  if (!Number.isInteger(groupSize) || groupSize < 1) {
    throw new Error(`advantages.ts ${where}: groupSize must be a positive integer, got ${groupSize}`);
  }
  if (n % groupSize !== 0) {
    throw new Error(`advantages.ts ${where}: ${n} rewards is not a multiple of groupSize ${groupSize}`);
  }
  return n / groupSize;
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length === 0 ? 0 : s / xs.length;
}

/** Unbiased (n-1) std like torch.std; 0 for fewer than two values. */
export function unbiasedStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

/**
 * TRL GRPO advantages: A_i = r_i - mean(group), divided by (std + 1e-4) where std is the
 * group's (`group`), the whole batch's (`batch`, as Dr. GRPO/"batch" scaling) or nothing
 * (`none`, Dr. GRPO's recommendation, which removes the difficulty bias of the std).
 */
export function groupAdvantages(rewards: readonly number[], groupSize: number, scaleRewards: ScaleRewards): number[] {
  const groups = checkGroups(rewards.length, groupSize, 'groupAdvantages');
  const batchStd = unbiasedStd(rewards);
  const out = new Array<number>(rewards.length);
  for (let g = 0; g < groups; g++) {
    const slice = rewards.slice(g * groupSize, (g + 1) * groupSize);
    // Summing then dividing can land a hair off the common value (3 * 0.7 / 3 != 0.7),
    // which would turn a constant group into +-1e-16 / 1e-4 noise; pin it to the value.
    const constant = slice.every((r) => r === slice[0]);
    const m = constant ? slice[0] : mean(slice);
    const std = scaleRewards === 'group' ? unbiasedStd(slice) : batchStd;
    for (let i = 0; i < groupSize; i++) {
      const centred = slice[i] - m;
      out[g * groupSize + i] = scaleRewards === 'none' ? centred : centred / (std + ADVANTAGE_STD_EPS);
    }
  }
  return out;
}

/**
 * DAPO dynamic sampling: a group whose rewards are all equal has zero advantage for every
 * row and contributes no gradient, only noise in the token normaliser; drop it.
 * Returns one flag per row (true = keep), constant within each group.
 */
export function dynamicSamplingKeep(rewards: readonly number[], groupSize: number): boolean[] {
  const groups = checkGroups(rewards.length, groupSize, 'dynamicSamplingKeep');
  const keep = new Array<boolean>(rewards.length);
  for (let g = 0; g < groups; g++) {
    const first = rewards[g * groupSize];
    let varied = false;
    for (let i = 1; i < groupSize; i++) {
      // Exact comparison on purpose: rewards are sums of a few weighted parts; two
      // responses with the same parts give bit-identical totals.
      if (rewards[g * groupSize + i] !== first) varied = true;
    }
    for (let i = 0; i < groupSize; i++) keep[g * groupSize + i] = varied;
  }
  return keep;
}

/**
 * Video-R1 T-GRPO temporal reward for ONE prompt: the same question is answered on
 * ordered frames (one group) and on shuffled frames (another group). If ordered accuracy
 * p is at least mu times shuffled accuracy p~, the model is using the order of frames,
 * so every correct ordered response gets +alpha. Returns the bonus per ordered response.
 */
export function temporalBonus(
  orderedCorrect: readonly boolean[],
  shuffledCorrect: readonly boolean[],
  alpha = 0.3,
  mu = 0.8,
): number[] {
  if (orderedCorrect.length === 0 || shuffledCorrect.length === 0) {
    throw new Error('advantages.ts temporalBonus: orderedCorrect and shuffledCorrect must be non-empty');
  }
  const pOrdered = orderedCorrect.filter(Boolean).length / orderedCorrect.length;
  const pShuffled = shuffledCorrect.filter(Boolean).length / shuffledCorrect.length;
  const earned = pOrdered >= mu * pShuffled;
  return orderedCorrect.map((correct) => (earned && correct ? alpha : 0));
}
