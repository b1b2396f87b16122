// Preference pairs from one prompt group's verdicts, for the DPO stage.
// chosen  = correct, consistent, non-repetitive, untruncated (and formatted) and, on benchmark
//           scenes, keeping no reading the fact log contradicts; ordered by the rubric's
//           preference (longer / reflective / score);
// rejected = wrong, inconsistent, repetitive, truncated or misread (rubric.pairs.reject_when),
//           hard negatives first: a right answer reached with a misread or inconsistent
//           reasoning, then wrong answers of similar length to a chosen, so DPO cannot win
//           on length alone.
// Reflective pairs prefer a self-corrected chain over the failed attempt: on benchmark scenes
// first a chain that corrects a misreading ("… at 1 2 . wait , … at 3 2"), paired with a
// rollout that kept that misreading. When no rollout of the group corrects itself, one is
// constructed from a failed rollout and a correct rollout's reasoning and labelled
// `reflective_constructed`.
import { findBlocks } from '../answers/tags';
import { correctedReadings, misreadings } from './checks';
import type { Rubric } from './rubric';
import type { Rollout, Verdict } from './types';

export type PairKind = 'standard' | 'hard_negative' | 'reflective' | 'reflective_constructed';
export const PAIR_KINDS: PairKind[] = ['standard', 'hard_negative', 'reflective', 'reflective_constructed'];

/** One preference pair, as written to PAIRS.jsonl and stored; snake_case like the files. */
export interface PairRecord {
  prompt_id: string;
  prompt: string;
  chosen: string;
  rejected: string;
  kind: PairKind;
  reasons: string[];
  /** input index of the rollout used as chosen; null when the text was constructed */
  chosen_index: number | null;
  rejected_index: number | null;
  ground_truth?: string;
  video?: string;
  /** the system prompt the rollouts were generated with */
  system?: string;
}

type RejectReason = Rubric['pairs']['reject_when'][number];

interface Item {
  r: Rollout;
  v: Verdict;
}

function failedCheck(v: Verdict, name: string): boolean {
  const c = v.checks.find((x) => x.name === name);
  return !!c && !c.skipped && !c.error && !c.pass;
}

/** No ground truth: pairs are then built from the checks that need none. */
function accuracyUnknown(v: Verdict): boolean {
  return !!v.checks.find((c) => c.name === 'accuracy')?.skipped;
}

/** Why a verdict makes its rollout a candidate for "rejected", restricted to the rubric's reject_when. */
export function rejectReasons(v: Verdict, rubric: Rubric): RejectReason[] {
  const all: Record<RejectReason, boolean> = {
    wrong: !v.correct && !accuracyUnknown(v),
    inconsistent: !v.consistent,
    repetitive: v.repetitive,
    truncated: v.truncated,
    unformatted: !v.formatted,
    ungrounded: failedCheck(v, 'grounding'),
    misread: misreadings(v.checks).length > 0,
    judge_failed: v.judge_failed,
  };
  return rubric.pairs.reject_when.filter((k) => all[k]);
}

/**
 * A chosen must show its work: besides being right and consistent, its reasoning has to pass
 * the length check (not shorter than the rubric's floor). Otherwise the verifier would teach DPO
 * that an empty <think> beats a wrong long chain, and CoT length collapses — the opposite of VerIPO.
 */
export function isChosenCandidate(v: Verdict, rubric: Rubric): boolean {
  return (
    (v.correct || accuracyUnknown(v)) &&
    v.consistent &&
    !v.repetitive &&
    !v.truncated &&
    (!rubric.pairs.require_formatted_chosen || v.formatted) &&
    !failedCheck(v, 'grounding') &&
    !(rubric.pairs.require_grounded_chosen && misreadings(v.checks).length > 0) &&
    !failedCheck(v, 'length') &&
    !(v.judge_failed && rubric.pairs.reject_when.includes('judge_failed'))
  );
}

const describeChosen = (x: Item) =>
  `chosen #${x.r.index}: correct, consistent, ${x.v.length} words${x.v.reflective ? ', reflective' : ''} (score ${x.v.score.toFixed(2)})`;

/** Right answer, wrong way: the rejected DPO learns the most from. */
export function isHardNegative(v: Verdict): boolean {
  return v.correct && (!v.consistent || misreadings(v.checks).length > 0);
}
const describeRejected = (x: Item, why: string[]) => `rejected #${x.r.index}: ${why.join(', ')}${x.v.reasons.length ? ` — ${x.v.reasons.join('; ')}` : ''}`;

function similarLength(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, b);
}

export function buildPreferencePairs(group: Rollout[], verdicts: Verdict[], rubric: Rubric): PairRecord[] {
  const cfg = rubric.pairs;
  const cap = cfg.max_pairs_per_prompt;
  if (group.length === 0 || cap === 0) return [];
  const items: Item[] = group.map((r, i) => ({ r, v: verdicts[i] }));
  const good = items.filter((x) => isChosenCandidate(x.v, rubric));
  const bad = items.map((x) => ({ ...x, why: rejectReasons(x.v, rubric) })).filter((x) => x.why.length > 0);
  const byPreference = (a: Item, b: Item) => {
    if (cfg.prefer === 'score') return b.v.score - a.v.score || b.v.length - a.v.length;
    if (cfg.prefer === 'reflective' && a.v.reflective !== b.v.reflective) return a.v.reflective ? -1 : 1;
    return b.v.length - a.v.length || b.v.score - a.v.score;
  };
  good.sort(byPreference);

  const head = group[0];
  const pairs: PairRecord[] = [];
  const seen = new Set<string>();
  const add = (p: Omit<PairRecord, 'prompt_id' | 'prompt' | 'ground_truth' | 'video' | 'system'>) => {
    if (pairs.length >= cap || p.chosen === p.rejected) return false;
    const key = `${p.chosen}\u0000${p.rejected}`;
    if (seen.has(key)) return false;
    seen.add(key);
    pairs.push({
      prompt_id: head.promptId,
      prompt: head.prompt,
      ...p,
      ground_truth: head.spec.answer,
      ...(head.video ? { video: head.video } : {}),
      ...(head.system ? { system: head.system } : {}),
    });
    return true;
  };

  // 1. reflective pairs: a chain that fixes its own mistake over a failed attempt
  if (cfg.reflective.enabled && good.length) {
    const failed = bad.filter((x) => !x.v.correct && !accuracyUnknown(x.v));
    const fixes = (x: Item) => correctedReadings(x.v.checks);
    let made = 0;
    // Chains that correct a misreading first (the fact log says the fix is real), then ones that
    // revise their answer. Where the readings were checked, a "wait" that fixed no reading and
    // changed no answer is not a reflection.
    const checked = (x: Item) => !!x.v.checks.find((k) => k.name === 'grounding' && !k.skipped && !k.error);
    const natural = good
      .filter((x) => fixes(x).length > 0 || (x.v.reflective && (!checked(x) || revised(x.v))))
      .sort((a, b) => Number(fixes(b).length > 0) - Number(fixes(a).length > 0) || Number(revised(b.v)) - Number(revised(a.v)));
    for (const c of natural) {
      if (made >= cfg.reflective.max_per_prompt) break;
      const fixed = fixes(c);
      let f: (typeof bad)[number] | undefined;
      let note = ', corrects itself';
      if (fixed.length) {
        // the rollout that kept the very misreading this chain corrected, else one that kept any, else a wrong answer
        const misread = bad.filter((x) => misreadings(x.v.checks).length > 0);
        f = misread.find((x) => misreadings(x.v.checks).some((m) => fixed.includes(m))) ?? misread[0] ?? failed[0];
        note = `, corrects its misreading "${fixed[0]}"`;
      } else {
        // the failed attempt that gave the answer this chain abandoned, if there is one
        const abandoned = c.v.checks.find((k) => k.name === 'reflection')?.details?.abandoned_answer;
        f = failed.find((x) => x.v.checks.find((k) => k.name === 'accuracy')?.details?.answer === abandoned) ?? failed[0];
      }
      if (f && add({ chosen: c.r.completion, rejected: f.r.completion, kind: 'reflective', reasons: [describeChosen(c) + note, describeRejected(f, f.why)], chosen_index: c.r.index, rejected_index: f.r.index }))
        made++;
    }
    if (made === 0 && natural.length === 0 && cfg.reflective.construct && cfg.reflective.max_per_prompt > 0) {
      // prefer a failed attempt that has reasoning and an answer (a clean "wrong" rollout); one
      // that kept a misreading would carry it, uncorrected, into the constructed chosen
      const clean = failed.filter((x) => misreadings(x.v.checks).length === 0);
      const f = clean.find((x) => x.v.formatted && !x.v.repetitive && !x.v.truncated) ?? clean.find((x) => x.v.formatted);
      const c = good[0];
      const fThink = f && findBlocks(f.r.completion, 'think')[0]?.content.trim();
      const cThink = findBlocks(c.r.completion, 'think')[0]?.content.trim();
      const cAnswer = findBlocks(c.r.completion, 'answer')[0]?.content.trim();
      if (f && fThink && cThink && cAnswer !== undefined) {
        add({
          chosen: `<think>${fThink}\n${cfg.reflective.reflection_text}\n${cThink}</think><answer>${cAnswer}</answer>`,
          rejected: f.r.completion,
          kind: 'reflective_constructed',
          reasons: [
            `chosen constructed: failed attempt #${f.r.index} + "${cfg.reflective.reflection_text}" + the reasoning of correct #${c.r.index}`,
            describeRejected(f, f.why),
          ],
          chosen_index: null,
          rejected_index: f.r.index,
        });
      }
    }
  }

  // 2. standard and hard-negative pairs, rejected hardest first, each paired in turn with
  //    its best-matching chosen (similar length first when hard_negatives is on)
  if (!good.length || !bad.length) return pairs;
  const hard = (x: Item) => isHardNegative(x.v);
  // hard negatives, then wrong answers about as long as some chosen, then the rest; worst score first within each
  const nearChosen = (x: Item) => good.some((c) => similarLength(x.v.length, c.v.length, cfg.similar_length_tolerance));
  const tier = (x: Item) => (hard(x) ? 0 : !x.v.correct && nearChosen(x) ? 1 : 2);
  if (cfg.hard_negatives) bad.sort((a, b) => tier(a) - tier(b) || a.v.score - b.v.score);
  else bad.sort((a, b) => a.v.score - b.v.score);
  const rankedChosen = bad.map((rej) => {
    if (!cfg.hard_negatives) return good;
    const sim = (c: Item) => similarLength(rej.v.length, c.v.length, cfg.similar_length_tolerance);
    return [...good].sort((a, b) => Number(sim(b)) - Number(sim(a)));
  });
  for (let round = 0; round < good.length && pairs.length < cap; round++) {
    for (let j = 0; j < bad.length && pairs.length < cap; j++) {
      const rej = bad[j];
      // rotate so successive rejected rollouts meet different chosen ones
      const ranked = rankedChosen[j];
      const c = ranked[(round + (cfg.hard_negatives ? 0 : j)) % ranked.length];
      if (c.r.index === rej.r.index) continue;
      const reasons = [describeChosen(c), describeRejected(rej, rej.why)];
      if (cfg.hard_negatives && similarLength(rej.v.length, c.v.length, cfg.similar_length_tolerance)) reasons.push(`similar length (${rej.v.length} vs ${c.v.length} words)`);
      add({ chosen: c.r.completion, rejected: rej.r.completion, kind: hard(rej) ? 'hard_negative' : 'standard', reasons, chosen_index: c.r.index, rejected_index: rej.r.index });
    }
  }
  return pairs;
}

function revised(v: Verdict): boolean {
  return Boolean(v.checks.find((k) => k.name === 'reflection')?.details?.revised);
}

/** Pairs for many groups (rollouts and verdicts aligned by position). */
export function buildAllPairs(rollouts: Rollout[], verdicts: Verdict[], rubric: Rubric): PairRecord[] {
  const byPrompt = new Map<string, { rs: Rollout[]; vs: Verdict[] }>();
  rollouts.forEach((r, i) => {
    let g = byPrompt.get(r.promptId);
    if (!g) byPrompt.set(r.promptId, (g = { rs: [], vs: [] }));
    g.rs.push(r);
    g.vs.push(verdicts[i]);
  });
  return [...byPrompt.values()].flatMap((g) => buildPreferencePairs(g.rs, g.vs, rubric));
}

export function countPairsByKind(pairs: PairRecord[]): Record<PairKind, number> {
  const out = Object.fromEntries(PAIR_KINDS.map((k) => [k, 0])) as Record<PairKind, number>;
  for (const p of pairs) out[p.kind]++;
  return out;
}
