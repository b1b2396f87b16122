// Schema migrations, applied in order; migration i moves user_version from i to i+1.
// Never edit a shipped migration: append a new one.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    name TEXT,
    preset TEXT,
    config TEXT NOT NULL,
    backend TEXT,
    backend_reason TEXT,
    seed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending','running','finished','failed','interrupted','stopped')),
    pid INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
  );
  CREATE INDEX runs_experiment ON runs(experiment_id);
  CREATE TABLE stages (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    iteration INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('sft','grpo','verify','dpo','eval')),
    status TEXT NOT NULL CHECK (status IN ('running','finished','failed','interrupted')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    wall_s REAL,
    val TEXT,
    summary TEXT,
    UNIQUE (run_id, ordinal)
  );
  CREATE TABLE metrics (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage_id INTEGER REFERENCES stages(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    wall_s REAL
  );
  CREATE INDEX metrics_run_name ON metrics(run_id, name, step);
  CREATE TABLE rollouts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage_id INTEGER REFERENCES stages(id) ON DELETE CASCADE,
    step INTEGER,
    prompt_id TEXT NOT NULL,
    task_id TEXT,
    group_index INTEGER NOT NULL DEFAULT 0,
    prompt TEXT NOT NULL,
    ground_truth TEXT,
    text TEXT NOT NULL,
    token_count INTEGER,
    reward REAL,
    reward_parts TEXT,
    advantage REAL,
    truncated INTEGER NOT NULL DEFAULT 0,
    verdict TEXT,
    meta TEXT
  );
  CREATE INDEX rollouts_run_stage ON rollouts(run_id, stage_id, step);
  CREATE INDEX rollouts_prompt ON rollouts(run_id, prompt_id);
  CREATE TABLE pairs (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    stage_id INTEGER REFERENCES stages(id) ON DELETE SET NULL,
    prompt_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    chosen_rollout_id INTEGER REFERENCES rollouts(id) ON DELETE SET NULL,
    rejected_rollout_id INTEGER REFERENCES rollouts(id) ON DELETE SET NULL,
    chosen_text TEXT NOT NULL,
    rejected_text TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('auto','manual')),
    status TEXT NOT NULL CHECK (status IN ('pending','accepted','rejected')),
    reasons TEXT NOT NULL DEFAULT '[]',
    edits TEXT,
    meta TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX pairs_run ON pairs(run_id, status);
  CREATE TABLE rubrics (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (name, version)
  );
  CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage_id INTEGER REFERENCES stages(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  // 2: the rollout inspector pages through a run ordered by step, prompt and group index.
  `CREATE INDEX rollouts_page ON rollouts(run_id, step, prompt_id, group_index, id);`,
  // 3: runs the health guard stopped end 'diverged', apart from runs that crashed ('failed').
  // A CHECK constraint changes only by rebuilding the table (migrate() turns foreign keys off).
  `
  CREATE TABLE runs_new (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    name TEXT,
    preset TEXT,
    config TEXT NOT NULL,
    backend TEXT,
    backend_reason TEXT,
    seed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending','running','finished','failed','diverged','interrupted','stopped')),
    pid INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
  );
  INSERT INTO runs_new SELECT id, experiment_id, name, preset, config, backend, backend_reason, seed, status, pid, error, created_at, started_at, finished_at FROM runs;
  DROP TABLE runs;
  ALTER TABLE runs_new RENAME TO runs;
  CREATE INDEX runs_experiment ON runs(experiment_id);
  `,
  // 4: any process can watch or stop any run: a stop request the running process polls, its
  // latest progress, and its log, all in the database rather than in one process's memory.
  `
  CREATE TABLE run_control (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    stop_requested_at TEXT,
    progress TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE run_logs (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE INDEX run_logs_run ON run_logs(run_id, id);
  `,
  // 5: the listing orders by stage before step, so two stages that drew the same prompt at the
  // same step keep their prompt groups apart instead of interleaving them.
  `
  DROP INDEX rollouts_page;
  CREATE INDEX rollouts_page_stage ON rollouts(run_id, stage_id, step, prompt_id, group_index, id);
  `,
  // 6: an experiment's report (`veripo experiment`): Markdown, its SVG figures, and the numbers
  // behind them, so the Experiments page shows what the command wrote.
  `
  CREATE TABLE experiment_reports (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    command TEXT NOT NULL,
    markdown TEXT NOT NULL,
    figures TEXT NOT NULL,
    summary TEXT
  );
  CREATE INDEX experiment_reports_experiment ON experiment_reports(experiment_id, id);
  `,
];
