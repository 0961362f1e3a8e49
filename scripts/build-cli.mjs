// Bundles the CLI into dist/cli.js so that `npx registry-janitor` starts fast with no build step
// to remember: npm runs this on `npm ci` (prepare) and before the tests (pretest).
import { build } from 'esbuild';

await build({
  entryPoints: ['bin/cli.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  // dynalite loads LevelDB's native binding from its own package folder: keep it out of the bundle.
  external: ['dynalite'],
  logLevel: 'warning',
});
