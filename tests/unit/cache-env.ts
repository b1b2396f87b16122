// Unit tests never read or fill the user's cold-start cache (~/.cache/veripo): each test
// process gets its own, inherited by the CLIs it spawns.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (!process.env.VERIPO_CACHE) process.env.VERIPO_CACHE = mkdtempSync(join(tmpdir(), 'veripo-cache-'));
