// Export of a DPO dataset from the Pairs page. What is written is what the curation says:
// by default the pairs a person signed off (accepted, or edited and not rejected); on request
// exactly the list the filter shows. The count is fetched and confirmed before anything is written.
import { useEffect, useState } from 'react';
import { api } from '../client';
import type { Pair } from '../../../shared/api';
import { ErrorNote, downloadText } from '../lib';

export interface PairFilter {
  run_id?: number;
  status?: Pair['status'];
  kind?: string;
  search?: string;
}

function describeFilter(f: PairFilter): string {
  const parts = [f.status ? `status ${f.status}` : 'any status', f.kind ? `kind ${f.kind}` : null, f.search ? `text contains "${f.search}"` : null];
  return parts.filter(Boolean).join(', ');
}

export function ExportPairs({ filter }: { filter: PairFilter }) {
  const [open, setOpen] = useState(false);
  const [selection, setSelection] = useState<'curated' | 'filter'>('curated');
  const [format, setFormat] = useState<'trl' | 'llamafactory'>('trl');
  const [count, setCount] = useState<number | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const args = { format, selection, ...(filter.run_id ? { run_id: filter.run_id } : {}), ...(selection === 'filter' ? { status: filter.status, kind: filter.kind || undefined, search: filter.search || undefined } : {}) };
  const key = JSON.stringify(args);
  useEffect(() => {
    if (!open) return;
    let live = true;
    setCount(null);
    api.exportPairs({ ...args, preview: true }).then(
      (r) => live && setCount(r.count),
      (err: Error) => live && setError(err),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open, key]);

  const write = async () => {
    setError(null);
    try {
      const out = await api.exportPairs(args);
      downloadText(out.filename, out.content);
      setDone(`${out.count} pairs → ${out.filename}`);
      setOpen(false);
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <span className="export">
      <button onClick={() => (setDone(null), setError(null), setOpen(true))} aria-haspopup="dialog">
        Export…
      </button>
      {done && (
        <span role="status" aria-label="Export result" className="small">
          {done}
        </span>
      )}
      {open && (
        <div className="modal-backdrop" onClick={() => setOpen(false)}>
          <div
            role="dialog"
            aria-modal="true"
            aria-label="Export pairs"
            className="modal"
            onClick={(e) => e.stopPropagation()}
            onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}
          >
            <h2>Export pairs</h2>
            <fieldset>
              <legend>Which pairs</legend>
              <label>
                <input type="radio" name="export-selection" checked={selection === 'curated'} onChange={() => setSelection('curated')} autoFocus /> Curated: accepted pairs and edited pairs not rejected
              </label>
              <label>
                <input type="radio" name="export-selection" checked={selection === 'filter'} onChange={() => setSelection('filter')} /> The list on screen ({describeFilter(filter)})
              </label>
            </fieldset>
            <label>
              Export format{' '}
              <select value={format} onChange={(e) => setFormat(e.target.value as typeof format)}>
                <option value="trl">TRL (prompt/chosen/rejected)</option>
                <option value="llamafactory">LLaMA-Factory</option>
              </select>
            </label>
            <p role="status" aria-label="Pairs to export">
              {count == null ? 'counting…' : `${count} pair${count === 1 ? '' : 's'}${filter.run_id ? ` of run #${filter.run_id}` : ''} will be written`}
            </p>
            <ErrorNote error={error} what="export" />
            <div className="toolbar">
              <button className="primary" disabled={!count} onClick={() => void write()}>
                Write {count ?? '…'} pairs
              </button>
              <button onClick={() => setOpen(false)}>Cancel</button>
            </div>
          </div>
        </div>
      )}
    </span>
  );
}
