// Worker entry: load the TypeScript server module through tsx (workers do not inherit vitest's transform).
import { tsImport } from 'tsx/esm/api';

await tsImport('./fuzz-server.ts', import.meta.url);
