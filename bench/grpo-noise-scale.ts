// The gradient noise scale of GRPO at a checkpoint (McCandlish et al. 2018, "An Empirical
// Model of Large-Batch Training"): B_simple = tr(Σ) / |G|², where G is the true policy
// gradient and Σ the covariance of a one-completion gradient. A batch of B completions has
// signal-to-noise |G|² / (tr(Σ) / B) = B / B_simple, so steps on batches much smaller than
// B_simple are mostly noise, whatever the optimizer does with them.
//
// K steps of `runGrpo` with a gradient probe: the weights never move, so the K batch
// gradients g_k (B completions each, fresh prompts) are independent samples at one point.
// The estimates and their error are noiseScale's (src/main/train/noise-scale.ts).
//   npx tsx bench/grpo-noise-scale.ts CKPT [K=12] [PROMPTS=8] [GENERATIONS=8] [T=0.6] [FAMILIES=all] [OUT_DIR] [SEED=0]
// OUT_DIR: also save θ − ḡ/|ḡ|, one unit step down the loss along the mean (K·B-completion)
// gradient, so `bench/interpolate.ts CKPT OUT_DIR a,…` evaluates steps of norm a along it.
import * as tf from '@tensorflow/tfjs-core';
import { mixedTasks } from '../src/main/cli/grpo';
import { initBackend } from '../src/main/model/backend';
import { loadCheckpoint, saveCheckpoint } from '../src/main/model/checkpoint';
import { runGrpo, trainTaskOf } from '../src/main/train/grpo';
import { noiseScale } from '../src/main/train/noise-scale';

/** Parameters grouped by what they are, for the per-group noise scale. */
function groupOf(name: string, shape: readonly number[]): string {
  const leaf = name.split('.').pop()!;
  if (shape.length === 1) return '1-D (gains, biases)';
  if (leaf.startsWith('attn')) return 'attention matrices';
  if (leaf.startsWith('mlp')) return 'MLP matrices';
  return 'embeddings, vision, heads';
}

async function main(): Promise<void> {
  const [ckpt, kArg, pArg, gArg, tArg, famArg, outArg, seedArg] = process.argv.slice(2);
  const outDir = outArg && outArg !== '-' ? outArg : undefined;
  const seed = Number(seedArg ?? 0);
  if (!ckpt) {
    console.error('usage: npx tsx bench/grpo-noise-scale.ts CKPT [K=12] [PROMPTS=8] [GENERATIONS=8] [T=0.6] [FAMILIES=all] [OUT_DIR|-] [SEED=0]');
    process.exit(2);
  }
  const K = Number(kArg ?? 12);
  const P = Number(pArg ?? 8);
  const G = Number(gArg ?? 8);
  const T = Number(tArg ?? 0.6);
  const families = famArg && famArg !== 'all' ? famArg.split(',') : undefined;
  await initBackend();
  const { policy, tokenizer } = loadCheckpoint(ckpt);
  const tasks = mixedTasks(K * P, 11 + seed, 'train', families).map((t) => trainTaskOf(t, tokenizer));
  const names = [...policy.params.keys()];
  const groupOfName = (n: string) => groupOf(n, policy.params.get(n)!.shape);
  const groups = [...new Set(names.map(groupOfName))];
  const perGroup = new Map<string, Float32Array[]>(groups.map((g) => [g, []]));
  const all: Float32Array[] = [];
  const t0 = performance.now();
  await runGrpo({
    policy, reference: null, tokenizer, tasks, seed: 5 + seed,
    config: { steps: K, per_step_prompts: P, num_generations: G, temperature: T, beta: 0 },
    gradientProbe: (step, grads: ReadonlyMap<string, tf.Tensor>) => {
      // One read of each gradient; parameters the step did not reach count as zero.
      const data = new Map(names.map((n) => [n, grads.get(n)?.dataSync() ?? new Float32Array(policy.params.get(n)!.size)]));
      const flat = (keep: (n: string) => boolean) => {
        const parts = names.filter(keep).map((n) => data.get(n)!);
        const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
        let o = 0;
        for (const p of parts) {
          out.set(p, o);
          o += p.length;
        }
        return out;
      };
      all.push(flat(() => true));
      for (const g of groups) perGroup.get(g)!.push(flat((n) => groupOfName(n) === g));
      console.error(`gradient ${step}/${K} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    },
  });
  const B = P * G;
  const row = (label: string, gs: Float32Array[]) => {
    const r = noiseScale(gs, B);
    return `| ${label} | ${gs[0]!.length} | ${r.signal.toExponential(2)} ± ${r.signalSe.toExponential(1)} | ${r.noisePerBatch.toExponential(2)} | ${(r.signal / r.noisePerBatch).toFixed(3)} | ${Number.isFinite(r.bSimple) ? Math.round(r.bSimple) : '∞ (no signal measured)'} | ${r.meanCosine.toFixed(3)} |`;
  };
  console.log(`${ckpt}: ${K} batches of ${P} prompts × ${G} completions at T = ${T}${families ? `, families ${families.join(', ')}` : ''}`);
  console.log('| parameters | count | \\|G\\|² (jackknife SE) | tr(Σ)/B | SNR of one batch | B_simple (completions) | mean cosine of two batches |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(row('all', all));
  for (const g of groups) console.log(row(g, perGroup.get(g)!));
  if (outDir) {
    const mean = new Float32Array(all[0]!.length);
    for (const g of all) for (let i = 0; i < mean.length; i++) mean[i]! += g[i]! / all.length;
    const norm = Math.sqrt(mean.reduce((s, x) => s + x * x, 0));
    let o = 0;
    for (const n of names) {
      const v = policy.params.get(n)!;
      const step = mean.subarray(o, o + v.size).map((x) => -x / norm);
      o += v.size;
      v.assign(tf.tidy(() => tf.add(v, tf.tensor(step, v.shape))));
    }
    saveCheckpoint(outDir, policy, tokenizer, { from: ckpt, unit_step_along_mean_grpo_gradient: { batches: K, completions: K * B, gradient_norm: norm } });
    console.log(`saved θ − ḡ/|ḡ| (|ḡ| = ${norm.toExponential(3)}) to ${outDir}`);
  }
}

void main();
