// The group view of one prompt: the G completions side by side with their reward parts,
// advantages, verdicts and highlighted reasoning; pick a chosen and a rejected one for a pair.
import { useEffect, useRef, useState } from 'react';
import { api } from '../client';
import type { Rollout } from '../../../shared/api';
import { ErrorNote, fmtNum, useApi } from '../lib';
import { CheckBadges, CotText, SPAN_KINDS, type CheckView } from './Cot';
import { Filmstrip } from './Filmstrip';

function checksOf(r: Rollout): CheckView[] {
  const checks = r.verdict?.checks;
  return Array.isArray(checks) ? (checks as CheckView[]) : [];
}

export function flag(r: Rollout, key: string): boolean | null {
  const v = r.verdict?.[key];
  return typeof v === 'boolean' ? v : null;
}

export function GroupView({ filtered, focus, filterOn }: { filtered: Rollout[]; focus: number | null; filterOn: boolean }) {
  const first = filtered[0]!;
  // The whole group, whatever the filter: rollouts matching it are marked, the rest stay in view.
  const full = useApi(
    () => api.listRollouts({ run_id: first.run_id, prompt_id: first.prompt_id, ...(first.step != null ? { step: first.step } : {}), ...(first.stage_id != null ? { stage_id: first.stage_id } : {}), limit: 256 }),
    [first.run_id, first.prompt_id, first.step, first.stage_id],
  );
  const matches = new Set(filtered.map((r) => r.id));
  const group = full.data && full.data.rollouts.some((r) => r.prompt_id === first.prompt_id) ? full.data.rollouts : filtered;
  const head = group[0]!;
  const [chosen, setChosen] = useState<number | null>(null);
  const [rejected, setRejected] = useState<number | null>(null);
  const [shade, setShade] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    setChosen(null);
    setRejected(null);
    setResult(null);
    setError(null);
  }, [head.prompt_id, head.step]);
  const focusRef = useRef<HTMLElement | null>(null);
  useEffect(() => {
    focusRef.current?.scrollIntoView({ block: 'nearest' });
  }, [focus]);
  const anyLogprobs = group.some((r) => Array.isArray(r.meta?.word_logprobs));
  const acc = group.filter((r) => flag(r, 'correct')).length;
  return (
    <article aria-label={`Prompt group ${head.prompt_id}`}>
      <h2 className="mono">{head.prompt_id}</h2>
      <Filmstrip taskId={head.task_id} videoPath={(head.meta?.video as string | undefined) ?? null} />
      <p className="question">{head.prompt}</p>
      <p className="muted small">
        ground truth <strong>{head.ground_truth ?? '—'}</strong> · {group.length} completions · group accuracy {acc}/{group.length}
        {filterOn ? ` · ${matches.size} match the filter (outlined)` : ''}
      </p>
      <div className="toolbar sticky">
        <span>
          chosen: <strong>{chosen ?? '—'}</strong> · rejected: <strong>{rejected ?? '—'}</strong>
        </span>
        {([false, true] as const).map((accept) => (
          <button
            key={String(accept)}
            className={accept ? undefined : 'primary'}
            disabled={chosen == null || rejected == null}
            title={accept ? 'Create the pair already accepted for export and DPO' : 'Create the pair as pending: it is exported and trained on once accepted'}
            onClick={async () => {
              setError(null);
              try {
                const p = await api.createPair({ chosen_rollout_id: chosen!, rejected_rollout_id: rejected!, accept });
                setResult({ ok: true, text: `Created pair #${p.id} (${p.kind}, ${p.status})` });
              } catch (err) {
                setError(err as Error);
              }
            }}
          >
            {accept ? 'Create and accept' : 'Create pair'}
          </button>
        ))}
        {anyLogprobs && (
          <label>
            <input type="checkbox" checked={shade} onChange={(e) => setShade(e.target.checked)} /> Log-prob shading
          </label>
        )}
        {result && <span role="status">{result.text}</span>}
      </div>
      <ErrorNote error={error} what="create pair" />
      <Legend />
      <div className="group-grid">
      {group.map((r) => {
        const checks = checksOf(r);
        const reasons = Array.isArray(r.verdict?.reasons) ? (r.verdict!.reasons as string[]) : [];
        return (
          <section
            key={r.id}
            ref={r.id === focus ? (el) => void (focusRef.current = el) : undefined}
            className={`rollout-card${r.id === focus ? ' focus' : ''}${filterOn && matches.has(r.id) ? ' match' : ''}`}
            aria-label={`Rollout ${r.id}`}
            data-match={filterOn ? String(matches.has(r.id)) : undefined}
          >
            <header className="toolbar">
              <strong>
                #{r.id} · g{r.group_index}
              </strong>
              {filterOn && matches.has(r.id) && <span className="badge">matches filter</span>}
              <span className="mono small">
                reward {fmtNum(r.reward)}
                {r.reward_parts ? ` (${Object.entries(r.reward_parts).map(([k, v]) => `${k} ${fmtNum(v)}`).join(', ')})` : ''}
                {r.advantage != null ? ` · adv ${fmtNum(r.advantage)}` : ''}
                {r.token_count != null ? ` · ${r.token_count} tokens` : ''}
                {typeof r.verdict?.score === 'number' ? ` · score ${fmtNum(r.verdict.score as number)}` : ''}
              </span>
              <button aria-pressed={chosen === r.id} onClick={() => (setChosen(chosen === r.id ? null : r.id), rejected === r.id && setRejected(null))}>
                Chosen
              </button>
              <button aria-pressed={rejected === r.id} onClick={() => (setRejected(rejected === r.id ? null : r.id), chosen === r.id && setChosen(null))}>
                Rejected
              </button>
            </header>
            {r.verdict ? <CheckBadges checks={checks} /> : <div className="muted small">not verified yet</div>}
            {reasons.length > 0 && (
              <ul className="reasons small">
                {reasons.map((x, i) => (
                  <li key={i}>{x}</li>
                ))}
              </ul>
            )}
            <CotText text={r.text} checks={checks} logprobs={shade && Array.isArray(r.meta?.word_logprobs) ? (r.meta!.word_logprobs as number[]) : null} />
          </section>
        );
      })}
      </div>
    </article>
  );
}

/** One legend for every span kind a verdict can carry, the verifier's own first. */
function Legend() {
  return (
    <div className="legend small" aria-label="Highlight legend">
      {Object.entries(SPAN_KINDS).map(([k, label]) => (
        <mark key={k} className={`hl-${k}`} data-kind={k}>
          {label}
        </mark>
      ))}
    </div>
  );
}
