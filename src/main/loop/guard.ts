// A training stage under the health guard (../train/health): the stage's starting weights
// are kept aside, and when the guard (or the optimizer's non-finite check) stops the stage
// they are put back, so a diverged run ends on the last good weights even when it has no
// checkpoint yet. The checksums recorded are those of weights.bin files (same byte order).
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { parameterShapes, type Policy } from '../model/policy';
import { weightNorm } from '../model/optim';
import { createHealthGuard, healthProblemOf, type HealthConfig, type HealthGuard, type HealthProblem } from '../train/health';

/** What the run records about a stage the guard stopped. */
export interface Divergence extends HealthProblem {
  stage: string;
  /** sha256 of the weights when the stage started and after they were put back: equal by construction, recorded to be checked. */
  start_checksum: string;
  restored_checksum: string;
}

export type GuardedOutcome<T> = { diverged: null; value: T } | { diverged: Divergence; value: null };

export async function runGuarded<T>(policy: Policy, stage: string, cfg: HealthConfig, body: (health: HealthGuard) => Promise<T>): Promise<GuardedOutcome<T>> {
  const start = snapshotWeights(policy);
  const startChecksum = checksumOf(policy, start);
  const health = createHealthGuard(stage, cfg, () => weightNorm(policy));
  try {
    return { diverged: null, value: await body(health) };
  } catch (err) {
    const found = healthProblemOf(err);
    if (!found) throw err;
    restoreWeights(policy, start);
    return { diverged: { ...found.problem, stage: found.stage, start_checksum: startChecksum, restored_checksum: weightsChecksum(policy) }, value: null };
  }
}

/** sha256 of the weights as saveCheckpoint writes them to weights.bin. */
export function weightsChecksum(policy: Policy): string {
  return checksumOf(policy, snapshotWeights(policy));
}

function snapshotWeights(policy: Policy): Map<string, Float32Array> {
  // slice(): on the cpu backend dataSync may hand out the tensor's own buffer.
  return new Map([...policy.params].map(([name, v]) => [name, (v.dataSync() as Float32Array).slice()]));
}

function checksumOf(policy: Policy, weights: Map<string, Float32Array>): string {
  const hash = createHash('sha256');
  for (const [name] of parameterShapes(policy.config)) {
    const w = weights.get(name)!;
    hash.update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  }
  return hash.digest('hex');
}

function restoreWeights(policy: Policy, weights: Map<string, Float32Array>): void {
  tf.tidy(() => {
    for (const [name, v] of policy.params) v.assign(tf.tensor(weights.get(name)!, v.shape, 'float32'));
  });
}
