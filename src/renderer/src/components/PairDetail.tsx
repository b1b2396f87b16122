// One preference pair under review: chosen and rejected side by side with a word diff, the
// edit box for the chosen text, and the labelling guidelines kept beside it.
import { useMemo, useState } from 'react';
import type { Pair } from '../../../shared/api';
import { wordDiff } from './diff';

export function SideBySide({ chosen, rejected }: { chosen: string; rejected: string }) {
  const diff = useMemo(() => wordDiff(rejected, chosen), [chosen, rejected]);
  return (
    <div className="side-by-side">
      <section aria-label="Chosen">
        <h3 className="ok">Chosen</h3>
        <div className="cot mono">{diff.filter((d) => d.op !== 'del').map((d, i) => (d.op === 'add' ? <ins key={i}>{d.text}</ins> : <span key={i}>{d.text}</span>))}</div>
      </section>
      <section aria-label="Rejected">
        <h3 className="bad">Rejected</h3>
        <div className="cot mono">{diff.filter((d) => d.op !== 'add').map((d, i) => (d.op === 'del' ? <del key={i}>{d.text}</del> : <span key={i}>{d.text}</span>))}</div>
      </section>
    </div>
  );
}

/** The chosen text in an edit box: focused on open, Esc cancels, Ctrl+Enter saves. */
export function EditChosen({ initial, onSave, onCancel }: { initial: string; onSave: (text: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(initial);
  return (
    <div className="panel">
      <label className="field">
        <span>Chosen text</span>
        <textarea
          rows={12}
          value={text}
          autoFocus
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') (e.preventDefault(), onCancel());
            else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && text.trim()) (e.preventDefault(), onSave(text));
          }}
        />
      </label>
      <div className="toolbar">
        <button className="primary" disabled={!text.trim()} onClick={() => onSave(text)}>
          Save chosen <kbd>Ctrl+Enter</kbd>
        </button>
        <button onClick={onCancel}>
          Cancel <kbd>Esc</kbd>
        </button>
      </div>
    </div>
  );
}

const GUIDELINES_KEY = 'veripo.pairs.guidelines';
const DEFAULT_GUIDELINES = `Accept when the chosen response is
- correct (its <answer> matches the ground truth),
- consistent (the reasoning concludes what the answer says),
- grounded in what the frames show, not repetitive, not truncated,
and the rejected one is clearly worse on one of these.
Reflective pairs: the chosen chain notices and fixes its own error.
Reject when both sides are wrong, or the "better" side only differs in wording.
Edit the chosen text only to fix a small flaw; swap when the verifier got the order wrong.`;

/** Labelling guidelines for this workbench, editable, kept in this browser. */
export function Guidelines() {
  const [text, setText] = useState(() => localStorage.getItem(GUIDELINES_KEY) ?? DEFAULT_GUIDELINES);
  const [editing, setEditing] = useState(false);
  return (
    <aside className="guidelines panel" aria-label="Guidelines">
      <div className="toolbar">
        <h3>Guidelines</h3>
        <button className="link" onClick={() => setEditing((e) => !e)}>
          {editing ? 'Done' : 'Edit'}
        </button>
      </div>
      {editing ? (
        <textarea
          aria-label="Guidelines text"
          rows={16}
          value={text}
          onChange={(e) => (setText(e.target.value), localStorage.setItem(GUIDELINES_KEY, e.target.value))}
          onKeyDown={(e) => e.key === 'Escape' && setEditing(false)}
        />
      ) : (
        <div className="small pre">{text}</div>
      )}
    </aside>
  );
}

export function PairHeader({ pair }: { pair: Pair }) {
  return (
    <header className="toolbar">
      <h2>
        Pair #{pair.id} <span className="muted small">{pair.kind} · {pair.source}</span>
      </h2>
      <span className={`badge status-${pair.status}`} aria-label="Pair status">
        {pair.status}
      </span>
      {pair.edited && <span className="badge">edited</span>}
    </header>
  );
}
