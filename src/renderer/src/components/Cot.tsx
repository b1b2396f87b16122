// A chain of thought with the spans the verifier's checks flagged highlighted per check kind,
// and optional per-token log-prob shading.
import { useMemo } from 'react';

export interface CheckView {
  name: string;
  pass: boolean;
  score?: number;
  reason?: string;
  spans?: [number, number][];
  skipped?: boolean;
  error?: string;
}

/** Checks whose spans mark a flaw or a feature worth seeing, with their legend text. */
export const SPAN_KINDS: Record<string, string> = {
  // The verifier's own judgements first: these are what a reviewer looks for.
  consistency: 'inconsistency',
  repetition: 'repetition',
  grounding: 'ungrounded observation',
  reflection: 'reflection',
  judge: 'LLM judge',
  // Reward-side spans (where the answer and the length were read) last and quiet.
  accuracy: 'answer read (accuracy)',
  format: 'format',
  length: 'length',
};
const KIND_ORDER = Object.keys(SPAN_KINDS);
const rank = (k: string) => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : KIND_ORDER.length);

interface Segment {
  start: number;
  end: number;
  kinds: string[];
}

/** Cut [0, length) at every span edge; each piece knows which checks cover it. */
export function segments(length: number, checks: CheckView[]): Segment[] {
  const cuts = new Set<number>([0, length]);
  const spans: { kind: string; s: number; e: number }[] = [];
  for (const c of checks) {
    for (const sp of c.spans ?? []) {
      const s = Math.max(0, Math.min(length, sp[0]));
      const e = Math.max(s, Math.min(length, sp[1]));
      if (e > s) {
        spans.push({ kind: c.name, s, e });
        cuts.add(s);
        cuts.add(e);
      }
    }
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Segment[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const start = sorted[i]!;
    const end = sorted[i + 1]!;
    // The first kind gives the piece its colour: verifier spans win over reward-side ones.
    out.push({ start, end, kinds: [...new Set(spans.filter((sp) => sp.s <= start && sp.e >= end).map((sp) => sp.kind))].sort((a, b) => rank(a) - rank(b)) });
  }
  return out;
}

export function CotText({ text, checks, logprobs }: { text: string; checks: CheckView[]; logprobs?: number[] | null }) {
  const segs = useMemo(() => segments(text.length, checks), [text, checks]);
  if (logprobs && logprobs.length) return <LogprobText text={text} logprobs={logprobs} />;
  const reasonOf = (kind: string) => checks.find((c) => c.name === kind)?.reason ?? kind;
  return (
    <div className="cot mono">
      {segs.map((s, i) => {
        const piece = text.slice(s.start, s.end);
        if (s.kinds.length === 0) return <span key={i}>{piece}</span>;
        return (
          <mark key={i} className={`hl-${KIND_ORDER.includes(s.kinds[0]!) ? s.kinds[0] : 'other'}`} data-check={s.kinds.join(' ')} title={s.kinds.map((k) => `${SPAN_KINDS[k] ?? k}: ${reasonOf(k)}`).join('\n')}>
            {piece}
          </mark>
        );
      })}
    </div>
  );
}

/** Tokens are the whitespace-separated words, matched to logprobs in order. */
function LogprobText({ text, logprobs }: { text: string; logprobs: number[] }) {
  const parts = text.split(/(\s+)/);
  let k = 0;
  return (
    <div className="cot mono" aria-label="Chain of thought with log-prob shading">
      {parts.map((p, i) => {
        if (!p.trim()) return <span key={i}>{p}</span>;
        const lp = logprobs[k++];
        const surprise = lp == null ? 0 : Math.min(1, -lp / 4);
        return (
          <span key={i} className="lp" style={{ backgroundColor: `rgba(220, 80, 40, ${(surprise * 0.55).toFixed(2)})` }} title={lp == null ? undefined : `logprob ${lp.toFixed(3)}`}>
            {p}
          </span>
        );
      })}
    </div>
  );
}

export function CheckBadges({ checks }: { checks: CheckView[] }) {
  return (
    <ul className="badges" aria-label="Verifier checks">
      {checks.map((c) => {
        const cls = c.skipped ? 'skip' : c.error ? 'warn' : c.pass ? 'pass' : 'fail';
        return (
          <li key={c.name} className={`badge ${cls}`} title={c.error ?? c.reason}>
            {c.pass ? '✓' : c.skipped ? '–' : '✗'} {c.name}
            {c.score != null && !c.skipped ? <span className="small"> {c.score.toFixed(2)}</span> : null}
          </li>
        );
      })}
    </ul>
  );
}
