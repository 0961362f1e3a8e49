// Bundles the in-cluster reporter into one file, reporter/dist/reporter.js, run by the stock
// node:22-alpine image as `node /reporter/reporter.js report --once` (reporter/manifests).
// A copy goes to reporter/manifests/dist/ because kustomize reads generator files only from
// inside the kustomization's folder.
// @kubernetes/client-node is left out: in a pod the reporter uses the service account directly,
// and the client (about 1.8 MB, more than a ConfigMap may hold) is needed only for a kubeconfig.
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { build } from 'esbuild';

const outfile = 'reporter/dist/reporter.js';
const manifestCopy = 'reporter/manifests/dist/reporter.js';
// A ConfigMap holds at most 1 MiB, and `kubectl apply` (client side) copies the whole object into
// an annotation limited to 256 KiB.
const MAX_BYTES = 200 * 1024;

await build({
  entryPoints: ['reporter/src/main.ts'],
  outfile,
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  external: ['@kubernetes/client-node'],
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});

const { size } = statSync(outfile);
if (size > MAX_BYTES) {
  console.error(
    `${outfile} is ${size} bytes, more than the ${MAX_BYTES} a ConfigMap applied with kubectl can hold`,
  );
  process.exit(1);
}
mkdirSync('reporter/manifests/dist', { recursive: true });
copyFileSync(outfile, manifestCopy);
console.log(`${outfile} (${size} bytes), copied to ${manifestCopy}`);
