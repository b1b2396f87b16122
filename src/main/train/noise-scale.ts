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
 */
export function noiseScale(grads: readonly Float32Array[], batch: number): { signal: number; noisePerBatch: number; bSimple: number; meanCosine: number } {
  const K = grads.length;
  if (K < 2) throw new Error(`noiseScale: need at least 2 batch gradients, got ${K}`);
  const D = grads[0]!.length;
  const mean = new Float64Array(D);
  let meanSq = 0;
  for (const g of grads) {
    let sq = 0;
    for (let i = 0; i < D; i++) {
      mean[i]! += g[i]! / K;
      sq += g[i]! * g[i]!;
    }
    meanSq += sq / K;
  }
  let barSq = 0;
  for (let i = 0; i < D; i++) barSq += mean[i]! * mean[i]!;
  const signal = (K * barSq - meanSq) / (K - 1);
  const noisePerBatch = (K * (meanSq - barSq)) / (K - 1);
  let cos = 0;
  let pairs = 0;
  for (let a = 0; a < K; a++)
    for (let b = a + 1; b < K; b++) {
      let dot = 0, na = 0, nb = 0;
      for (let i = 0; i < D; i++) {
        dot += grads[a]![i]! * grads[b]![i]!;
        na += grads[a]![i]! ** 2;
        nb += grads[b]![i]! ** 2;
      }
      if (na > 0 && nb > 0) {
        cos += dot / Math.sqrt(na * nb);
        pairs++;
      }
    }
  return { signal, noisePerBatch, bSimple: signal > 0 ? (noisePerBatch * batch) / signal : Infinity, meanCosine: pairs ? cos / pairs : 0 };
}
