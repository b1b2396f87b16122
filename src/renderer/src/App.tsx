// The app shell: navigation between the workbench's pages, hash-routed so the same build
// works from file:// (Electron) and http:// (web mode).
import { useEffect, useState, type ReactNode } from 'react';
import { ExperimentsPage } from './pages/Experiments';
import { RunsPage } from './pages/Runs';
import { RolloutsPage } from './pages/Rollouts';
import { PairsPage } from './pages/Pairs';
import { RubricsPage } from './pages/Rubrics';
import { SettingsPage } from './pages/Settings';
import { api } from './client';
import { mayLeave } from './lib';

export const PAGES: { id: string; title: string; render: () => ReactNode }[] = [
  { id: 'experiments', title: 'Experiments', render: () => <ExperimentsPage /> },
  { id: 'runs', title: 'Runs', render: () => <RunsPage /> },
  { id: 'rollouts', title: 'Rollouts', render: () => <RolloutsPage /> },
  { id: 'pairs', title: 'Pairs', render: () => <PairsPage /> },
  { id: 'rubrics', title: 'Rubrics', render: () => <RubricsPage /> },
  { id: 'settings', title: 'Settings', render: () => <SettingsPage /> },
];

function currentPage(): string {
  const id = window.location.hash.replace(/^#\/?/, '').split(/[?/]/)[0];
  return PAGES.some((p) => p.id === id) ? id! : 'experiments';
}

export function App() {
  const [page, setPage] = useState(currentPage);
  useEffect(() => {
    const onHash = (e: HashChangeEvent) => {
      const next = currentPage();
      if (next === page) return;
      // Unsaved edits (a rubric): stay, and put the address back, unless the user confirms.
      if (!mayLeave()) {
        window.history.replaceState(null, '', new URL(e.oldURL).hash);
        return;
      }
      setPage(next);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, [page]);
  const [status, setStatus] = useState<{ text: string; ok: boolean }>({ text: 'connecting…', ok: true });
  useEffect(() => {
    api.info({}).then(
      (info) => setStatus({ text: `${info.mode} · ${info.db_path}`, ok: true }),
      (err: Error) => setStatus({ text: `not connected: ${err.message}`, ok: false }),
    );
  }, []);
  const active = PAGES.find((p) => p.id === page)!;
  return (
    <div className="app">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">VerIPO Workbench</div>
        <ul>
          {PAGES.map((p) => (
            <li key={p.id}>
              <a href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
        <div className={status.ok ? 'connection muted' : 'connection error'} role="status" aria-label="Connection">
          {status.text}
        </div>
      </nav>
      <main className="content">{active.render()}</main>
    </div>
  );
}
