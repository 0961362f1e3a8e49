// Bundles the CLI into dist/ so that `npx registry-janitor` starts fast with no build step to
// remember: npm runs this on `npm ci` (prepare) and before the tests (pretest).
//
// dist/cli.js holds only the argument parsing; each command is its own bundle, loaded when it
// runs (a `gc` in CI does not compile the DynamoDB, HTTP server and Kubernetes code of `serve`
// and `report`). The source says `await import(...)` of the command module; the plugin below
// turns each such import into `loadChunk('<bundle>.js')` (bin/chunk-loader.ts), and each bundle
// is built from the same module as an entry point of its own. Each bundle gets a V8 code cache,
// `<bundle>.js.cache`, made by this node: loading the gc bundle then takes ~35 ms instead of ~70-95.
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Source module (loaded with a dynamic import) → its bundle in dist/, and whether the bundle is
 * loaded with its code cache. `report` is not: it may `import()` the optional Kubernetes client (an
 * ES module), which code compiled through node:vm cannot do without an experimental API; it is
 * small and loaded by node's own `require`.
 */
const CHUNKS = {
  'lambdas/handlers/gc-command.ts': { bundle: 'gc.js', cached: true },
  'lambdas/local/serve-command.ts': { bundle: 'serve.js', cached: true },
  'lambdas/handlers/cluster-key-command.ts': { bundle: 'cluster-key.js', cached: true },
  'lambdas/handlers/retire-cluster-command.ts': { bundle: 'retire-cluster.js', cached: true },
  'lambdas/handlers/aws-usage-clients.ts': { bundle: 'aws-usage.js', cached: true },
  'reporter/src/report-command.ts': { bundle: 'report.js', cached: false },
};

const byPath = new Map(Object.entries(CHUNKS).map(([source, chunk]) => [resolve(root, source), chunk]));

const loader = resolve(root, 'bin/chunk-loader.ts');

/**
 * A dynamic import of a chunk's module becomes a (lazy) `loadChunk` of the chunk's bundle, or a
 * `require` of it when it has no cache.
 */
const chunksPlugin = {
  name: 'registry-janitor-chunks',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const chunk = byPath.get(`${resolve(args.resolveDir, args.path)}.ts`);
      if (!chunk) return undefined;
      return chunk.cached
        ? { path: chunk.bundle, namespace: 'chunk' }
        : { path: `./${chunk.bundle}`, external: true };
    });
    builder.onLoad({ filter: /.*/, namespace: 'chunk' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(loader)}).loadChunk(${JSON.stringify(args.path)});`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

/**
 * Writes `<bundle>.cache`: the bundle's SHA-256, then V8's cached data of the bundle compiled as
 * a CommonJS module and run once, in a node of its own (the cache then also holds the functions
 * its modules run when loaded: ~15 ms more saved than a cache of the compiled source alone).
 * Read by bin/chunk-loader.ts.
 */
const CACHE_WRITER = `
const { createHash } = require('node:crypto');
const { readFileSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');
const file = process.argv[1];
const source = readFileSync(file, 'utf8');
const script = new Script(Module.wrap(source), { filename: file });
const module = { exports: {} };
script.runInThisContext().call(module.exports, module.exports, Module.createRequire(file), module, file, dirname(file));
const hash = createHash('sha256').update(source).digest();
writeFileSync(file + '.cache', Buffer.concat([hash, script.createCachedData()]));
`;

function writeCodeCache(file) {
  const run = spawnSync(process.execPath, ['-e', CACHE_WRITER, file], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`could not write the code cache of ${file}: ${run.stderr}`);
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // ES module entry points where packages have them (as the Lambdas are bundled), so that esbuild
  // drops what is unused: the SDK clients' CommonJS builds are one file holding every command.
  mainFields: ['module', 'main'],
  // `import()` becomes a require: node:vm code cannot import() (see CHUNKS), and a chunk without
  // a cache is a CommonJS file that the ES module loader would lex for its exports first.
  supported: { 'dynamic-import': false },
  sourcemap: true,
  // Whitespace and syntax only: names stay readable in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  // dynalite loads LevelDB's native binding from its own package folder: keep it out of the bundle.
  external: ['dynalite'],
  plugins: [chunksPlugin],
  logLevel: 'warning',
};

// Nothing stale is left behind (a bundle or cache of a command that moved).
rmSync(resolve(root, 'dist'), { recursive: true, force: true });

await Promise.all([
  build({
    ...common,
    entryPoints: ['bin/cli.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
    // Executable: npm marks a bin executable when it links it, not when it is rebuilt later.
  }).then(() => chmodSync(resolve(root, 'dist/cli.js'), 0o755)),
  ...Object.entries(CHUNKS).map(async ([source, { bundle, cached }]) => {
    const outfile = resolve(root, 'dist', bundle);
    await build({
      ...common,
      entryPoints: [source],
      outfile,
      // The optional Kubernetes client is an ES module: it must stay an import().
      ...(cached ? {} : { supported: {} }),
    });
    if (cached) writeCodeCache(outfile);
  }),
]);
