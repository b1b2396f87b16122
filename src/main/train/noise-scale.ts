// The gradient noise scale (McCandlish et al. 2018, "An Empirical Model of Large-Batch
// Training") from K independent batch gradients taken at the same weights: how many samples
// a batch needs before its gradient is more signal than noise. bench/grpo-noise-scale.ts
// measures it for GRPO.

/**
 * From K flattened batch gradients of `batch` samples each (K >= 2), with ḡ their mean:
 * E|g_k|² = |G|² + tr(Σ)/B and E|ḡ|² = |G|² + tr(Σ)/(KB), so
 *   signal        |G|²     ≈ (K|ḡ|² − mean|g_k|²) / (K − 1)   (can come out negative: no signal resolved)
 *   noisePerBatch tr(Σ)/B  ≈ K (mean|g_k|² − |ḡ|²) / (K − 1)
 *   bSimple = tr(Σ) / |G|²: the batch size at which signal and noise are equal.
 * The signal estimate is the mean of g_a · g_b over the pairs a ≠ b, so everything comes from
 * the K × K Gram matrix, and so does signalSe, its leave-one-batch-out jackknife error.
 */
export function noiseScale(grads: readonly Float32Array[], batch: number): { signal: number; signalSe: number; noisePerBatch: number; bSimple: number; meanCosine: number } {
  const K = grads.length;
  if (K < 2) throw new Error(`noiseScale: need at least 2 batch gradients, got ${K}`);
  const D = grads[0]!.length;
  const gram = Array.from({ length: K }, () => new Float64Array(K));
  for (let a = 0; a < K; a++)
    for (let b = a; b < K; b++) {
      let dot = 0;
      for (let i = 0; i < D; i++) dot += grads[a]![i]! * grads[b]![i]!;
      gram[a]![b] = dot;
      gram[b]![a] = dot;
    }
  // Mean over ordered pairs a ≠ b, leaving batch `skip` out (skip = -1: none).
  const offDiagonalMean = (skip: number) => {
    let sum = 0;
    let n = 0;
    for (let a = 0; a < K; a++)
      for (let b = 0; b < K; b++)
        if (a !== b && a !== skip && b !== skip) {
          sum += gram[a]![b]!;
          n++;
        }
    return n ? sum / n : 0;
  };
  const signal = offDiagonalMean(-1);
  const meanSq = gram.reduce((s, row, a) => s + row[a]!, 0) / K;
  const noisePerBatch = meanSq - signal;
  let signalSe = 0;
  if (K > 2) {
    const loo = Array.from({ length: K }, (_, k) => offDiagonalMean(k));
    const m = loo.reduce((s, x) => s + x, 0) / K;
    signalSe = Math.sqrt(((K - 1) / K) * loo.reduce((s, x) => s + (x - m) ** 2, 0));
  }
  let cos = 0;
  let pairs = 0;
  for (let a = 0; a < K; a++)
    for (let b = a + 1; b < K; b++)
      if (gram[a]![a]! > 0 && gram[b]![b]! > 0) {
        cos += gram[a]![b]! / Math.sqrt(gram[a]![a]! * gram[b]![b]!);
        pairs++;
      }
  return { signal, signalSe, noisePerBatch, bSimple: signal > 0 ? (noisePerBatch * batch) / signal : Infinity, meanCosine: pairs ? cos / pairs : 0 };
}
