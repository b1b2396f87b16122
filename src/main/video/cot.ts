// Chains of thought in the benchmark's small language: the gold one and labelled
// degraded variants that seed cold-start SFT and exercise the verifier's checks.
//
// Layout: `<think> w w w . so the answer is B </think><answer>B</answer>`: a space after
// `<think>` and before `</think>`, and `</think><answer>X</answer>` written adjacent.
// Words are separated by single spaces; punctuation marks are words of their own.
import { randInt, type Rng } from './prng';
import { cellOf, objectName, type FactLog } from './scene';
import type { Asked, Sentence } from './families';

export const COT_VARIANTS = ['gold', 'direct', 'truncated', 'inconsistent', 'repetitive', 'hallucinated', 'reflective'] as const;
export type CotVariant = (typeof COT_VARIANTS)[number];

/** How many extra copies of the repeated sentence the repetitive variant carries. */
export const REPEAT_COPIES = 6;

export function observation(facts: FactLog, frame: number, id: number, at?: { x: number; y: number }): string {
  const cell = at ?? cellOf(facts, frame, id);
  if (!cell) throw new Error(`object ${id} is not visible in frame ${frame}`);
  return `frame ${frame} : ${objectName(facts, id)} at ${cell.x} ${cell.y} .`;
}

function sentenceText(facts: FactLog, s: Sentence): string {
  return 'text' in s ? `${s.text} .` : observation(facts, s.frame, s.id);
}

/** The closing sentence. For multiple choice it first restates the chosen option's words
 *  right before its letter ("below and left is E ."): the letter then follows the words
 *  that select it, which a causal policy can match against the options in the prompt;
 *  going straight from the reasoning to a bare letter was never learned (letter loss at
 *  chance, ln 5). The last "so the answer is X" is still what the checks read. */
function conclusion(asked: Asked, answer: string): string {
  const option = asked.options?.[answer.charCodeAt(0) - 65];
  return option && answer.length === 1 ? `${option} is ${answer} . so the answer is ${answer}` : `so the answer is ${answer}`;
}
const wrap = (think: string, answer: string) => `<think> ${think} </think><answer>${answer}</answer>`;

/** A cell where the object is NOT in that frame: the basis of hallucinated and reflective claims. */
function wrongCell(rng: Rng, facts: FactLog, frame: number, id: number): { x: number; y: number } {
  const real = cellOf(facts, frame, id);
  for (;;) {
    const x = randInt(rng, 0, facts.gridW - 1);
    const y = randInt(rng, 0, facts.gridH - 1);
    if (!real || real.x !== x || real.y !== y) return { x, y };
  }
}

export function buildCots(asked: Asked, facts: FactLog, rng: Rng): Record<CotVariant, string> {
  const texts = asked.sentences.map((s) => sentenceText(facts, s));
  const observed = asked.sentences.flatMap((s, i) => ('text' in s ? [] : [i]));
  const body = (parts: string[]) => parts.join(' ');
  const gold = wrap(`${body(texts)} ${conclusion(asked, asked.answer)}`, asked.answer);

  // The claim to corrupt: an existing observation, or (when the reasoning has none, e.g.
  // an empty frame) a new claim about some object in some frame.
  let at: number;
  let frame: number;
  let id: number;
  let insert = false;
  if (observed.length) {
    at = observed[randInt(rng, 0, observed.length - 1)];
    const s = asked.sentences[at] as { frame: number; id: number };
    ({ frame, id } = s);
  } else {
    at = 0;
    frame = randInt(rng, 1, facts.frameCount);
    id = randInt(rng, 0, facts.objects.length - 1);
    insert = true;
  }
  const wrong = observation(facts, frame, id, wrongCell(rng, facts, frame, id));
  const replaced = (replacement: string) => {
    const out = texts.slice();
    out.splice(at, insert ? 0 : 1, replacement);
    return out;
  };
  // The inserted claim's object may in fact be visible in that frame; the correction says where.
  const corrected = !insert ? texts[at] : cellOf(facts, frame, id) ? observation(facts, frame, id) : `frame ${frame} : ${objectName(facts, id)} is not visible .`;

  const thinkWords = `${body(texts)} ${conclusion(asked, asked.answer)}`.split(' ');
  const keep = Math.max(3, Math.floor(thinkWords.length * (0.3 + 0.4 * rng())));
  const repeated = observed.length ? texts[observed[0]] : texts[0];
  const repeatAt = observed.length ? observed[0] : 0;
  const repetitive = texts.slice();
  repetitive.splice(repeatAt + 1, 0, ...new Array<string>(REPEAT_COPIES).fill(repeated));
  const wrongAnswer = asked.wrongAnswers[randInt(rng, 0, asked.wrongAnswers.length - 1)];

  return {
    gold,
    direct: `<think> </think><answer>${asked.answer}</answer>`,
    truncated: `<think> ${thinkWords.slice(0, Math.min(keep, thinkWords.length - 2)).join(' ')}`,
    // The reasoning and the final answer are right; only the stated conclusion disagrees,
    // so accuracy rewards cannot see the defect and only a consistency check can.
    inconsistent: wrap(`${body(texts)} ${conclusion(asked, wrongAnswer)}`, asked.answer),
    repetitive: wrap(`${body(repetitive)} ${conclusion(asked, asked.answer)}`, asked.answer),
    hallucinated: wrap(`${body(replaced(wrong))} ${conclusion(asked, asked.answer)}`, asked.answer),
    reflective: wrap(`${body(replaced(`${wrong} wait , ${corrected}`))} ${conclusion(asked, asked.answer)}`, asked.answer),
  };
}
