// The video of a task as a strip of its frames (rendered on demand by the main process).
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
  if (!taskId) {
    return <div className="filmstrip muted">{videoPath ? `video: ${videoPath}` : 'No video for this prompt (imported rollout without a task).'}</div>;
  }
  return (
    <div className="filmstrip" role="group" aria-label="Video frames">
      <ErrorNote error={res.error} what="frames" />
      {res.loading && <span className="muted">loading frames…</span>}
      {res.data?.frames.map((src, i) => (
        <img key={i} src={src} alt={`frame ${i + 1}`} width={res.data!.width > 96 ? 96 : res.data!.width} style={{ imageRendering: 'pixelated' }} />
      ))}
    </div>
  );
}
