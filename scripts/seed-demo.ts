// Fill a database with demo runs, rollouts, pairs and a rubric for working on the UI:
//   npx tsx scripts/seed-demo.ts /tmp/demo.db && npx veripo serve --db /tmp/demo.db
// IMPORTED=N sets the size of the imported-rollouts run (default 10 000, 0 for none).
import { existsSync } from 'node:fs';
import { seedDemoDb } from './demo-db';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: npx tsx scripts/seed-demo.ts FILE.db\n');
  process.exit(2);
}
if (existsSync(file)) {
  process.stderr.write(`${file} exists; seeding adds to it is not supported, pick a new file\n`);
  process.exit(2);
}
const t0 = performance.now();
const s = seedDemoDb(file, { imported: Number(process.env.IMPORTED ?? 10_000) });
process.stdout.write(`${file}: ${s.runs.length} runs, ${s.rollouts} rollouts, ${s.pairs} pairs in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
