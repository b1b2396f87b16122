// The embedded synthetic video-reasoning benchmark: scenes with a ground-truth fact log,
// questions, gold and degraded chains of thought, rendering, grounding, external video QA.
//
// Conventions other layers rely on:
// - Grid 8x8 cells of 4 px (32x32 RGB frames), T = 8 frames by default (opts.frames).
//   x = column (0 left), y = row (0 top); frames are 1-based in all text, FactLog.frames[f-1].
// - Completions: `<think> w w . left is B . so the answer is B </think><answer>B</answer>`
//   (multiple choice restates the option's words before its letter; numeric answers end
//   `so the answer is 3`): one space
//   after <think> and before </think>; </think><answer>X</answer> adjacent. Use splitWords()
//   to split off the four tags; every other word is in BENCHMARK_WORDS.
// - Observations read `frame F : colour shape at X Y .`; parseClaims finds them (also in
//   comma lists as in sceneText); a claim followed by `wait ,` is retracted.
// - Inconsistent variant: the think concludes a wrong option, <answer> holds the right one.
export { FAMILIES, MODALITIES, DIFFICULTIES, DEFAULT_FRAMES, SPLIT_SEEDS, generateTask, sampleTasks, familiesFor, splitOfSeed, describeScene } from './tasks';
export type { Task, Split, Modality, CotVariant, TaskOptions, SampleOptions } from './tasks';
export { COT_VARIANTS, REPEAT_COPIES } from './cot';
export { COLORS, SHAPES, DIRECTIONS } from './scene';
export type { FactLog, FactCell, FactEvent, FactObject, Color, Shape, Direction } from './scene';
export { renderFrames, renderImage, PALETTE } from './render';
export { encodePng, filmstripPng, PNG_SIGNATURE } from './png';
export { parseClaims, scoreGrounding, isGrounded, findCorrections, readingText, extractConclusion, extractAnswer } from './claims';
export type { Claim, Correction } from './claims';
export { BENCHMARK_WORDS, COT_TAGS, NUMBER_WORDS, splitWords } from './words';
export { loadExternalVideoQa, extractFrames } from './external';
export type { ExternalVideoQa } from './external';
export { mulberry32, hashInts } from './prng';
