// The video of a task as a strip of its frames (rendered on demand by the main process); a
// frame opens in a full-size player that steps frame by frame (buttons, ←/→, Esc closes).
import { useEffect, useState } from 'react';
import { api } from '../client';
import { ErrorNote, useApi } from '../lib';

const cache = new Map<string, Promise<{ frames: string[]; width: number; height: number }>>();

function frames(taskId: string) {
  let p = cache.get(taskId);
  if (!p) {
    p = api.getTaskFrames({ task_id: taskId });
    p.catch(() => cache.delete(taskId));
    cache.set(taskId, p);
  }
  return p;
}

export function Filmstrip({ taskId, videoPath }: { taskId: string | null; videoPath?: string | null }) {
  const res = useApi(() => (taskId ? frames(taskId) : Promise.resolve(null)), [taskId]);
  const [open, setOpen] = useState<number | null>(null);
  if (!taskId) {
    return <div className="filmstrip muted">{videoPath ? `video: ${videoPath}` : 'No video for this prompt (imported rollout without a task).'}</div>;
  }
  const list = res.data?.frames ?? [];
  return (
    <div className="filmstrip" role="group" aria-label="Video frames">
      <ErrorNote error={res.error} what="frames" />
      {res.loading && <span className="muted">loading frames…</span>}
      {list.map((src, i) => (
        <img
          key={i}
          src={src}
          alt={`frame ${i + 1}`}
          title="Open in the player"
          width={res.data!.width > 96 ? 96 : res.data!.width}
          style={{ imageRendering: 'pixelated' }}
          onClick={() => setOpen(i)}
        />
      ))}
      {open != null && list.length > 0 && <Player frames={list} width={res.data!.width} start={open} onClose={() => setOpen(null)} />}
    </div>
  );
}

function Player({ frames, width, start, onClose }: { frames: string[]; width: number; start: number; onClose: () => void }) {
  const [i, setI] = useState(start);
  const step = (d: number) => setI((x) => Math.max(0, Math.min(frames.length - 1, x + d)));
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'ArrowRight') step(1);
      else if (e.key === 'ArrowLeft') step(-1);
      else if (e.key === 'Escape') onClose();
      else return;
      e.preventDefault();
      e.stopPropagation();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [onClose]);
  // Frames are tiny (the benchmark renders ~32 px): scale them up by whole pixels.
  const scale = Math.max(1, Math.floor(480 / Math.max(1, width)));
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div role="dialog" aria-modal="true" aria-label="Frame player" className="modal player" onClick={(e) => e.stopPropagation()}>
        <div className="toolbar">
          <button onClick={() => step(-1)} disabled={i === 0} aria-keyshortcuts="ArrowLeft">
            ◀ Previous frame
          </button>
          <span aria-label="Frame position" className="mono">
            frame {i + 1} / {frames.length}
          </span>
          <button onClick={() => step(1)} disabled={i === frames.length - 1} aria-keyshortcuts="ArrowRight">
            Next frame ▶
          </button>
          <button onClick={onClose}>Close</button>
        </div>
        <img src={frames[i]} alt={`frame ${i + 1}, full size`} width={width * scale} />
      </div>
    </div>
  );
}
