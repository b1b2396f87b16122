// Monaco from the local package (never a CDN): the editor core, the JSON language, and its
// two workers bundled by Vite as same-origin files. Loaded lazily by the Rubrics page.
import 'monaco-editor/esm/vs/editor/edcore.main';
import * as monaco from 'monaco-editor/esm/vs/editor/editor.api';
import 'monaco-editor/esm/vs/language/json/monaco.contribution';
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker?worker';
import JsonWorker from 'monaco-editor/esm/vs/language/json/json.worker?worker';

self.MonacoEnvironment = {
  getWorker(_id: string, label: string) {
    return label === 'json' ? new JsonWorker() : new EditorWorker();
  },
};

// Disposing an editor or model while Monaco still has work pending (leaving the Rubrics page,
// switching versions) rejects that work with Monaco's CancellationError, and some of these
// rejections escape Monaco's own filter as unhandled (microsoft/monaco-editor#4702). They are
// not failures; drop exactly those, with the test Monaco's isCancellationError applies, and
// let every other error through.
const isCancellation = (e: unknown) => e instanceof Error && e.name === 'Canceled' && e.message === 'Canceled';
window.addEventListener('unhandledrejection', (e) => {
  if (isCancellation(e.reason)) e.preventDefault();
});
window.addEventListener('error', (e) => {
  if (isCancellation(e.error)) e.preventDefault();
});

export { monaco };
