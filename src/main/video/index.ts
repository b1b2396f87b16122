// The embedded synthetic video-reasoning benchmark: scenes with a ground-truth fact log,
// questions, gold and degraded chains of thought, rendering, grounding, external video QA.
export { FAMILIES, MODALITIES, DIFFICULTIES, DEFAULT_FRAMES, SPLIT_SEEDS, generateTask, sampleTasks, familiesFor, splitOfSeed, describeScene } from './tasks';
export type { Task, Split, Modality, CotVariant, TaskOptions, SampleOptions } from './tasks';
export { COT_VARIANTS, REPEAT_COPIES } from './cot';
export { COLORS, SHAPES, DIRECTIONS } from './scene';
export type { FactLog, FactCell, FactEvent, FactObject, Color, Shape, Direction } from './scene';
export { renderFrames, renderImage, PALETTE } from './render';
export { encodePng, filmstripPng, PNG_SIGNATURE } from './png';
export { parseClaims, scoreGrounding, isGrounded, extractConclusion, extractAnswer } from './claims';
export type { Claim } from './claims';
export { BENCHMARK_WORDS, COT_TAGS, NUMBER_WORDS, splitWords } from './words';
export { loadExternalVideoQa, extractFrames } from './external';
export type { ExternalVideoQa } from './external';
export { mulberry32, hashInts } from './prng';
