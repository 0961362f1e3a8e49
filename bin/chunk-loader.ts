/**
 * Loads a command's bundle from dist/ (see scripts/build-cli.mjs), with the V8 code cache the
 * build wrote next to it: compiling a bundle of ~1 MB is ~35 ms of a `gc` start, reading its cache ~4.
 * Used only inside the bundle: the build turns `await import('<command module>')` into
 * `loadChunk('<bundle>.js')`.
 *
 * A cache file is the SHA-256 of the bundle (32 bytes), then V8's cached data of the bundle
 * compiled as a CommonJS module. It is used only when it was made from exactly this source (V8
 * itself checks only the source's length) and V8 accepts it (same V8 version and flags);
 * otherwise the bundle is compiled as usual. Nothing is written at run time. Code compiled this way
 * cannot `import()`: the build turns a cached bundle's dynamic imports into requires.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** Runs the bundle `file` (beside this one) as a CommonJS module; returns its exports. */
export function loadChunk(file: string, directory: string = __dirname): unknown {
  const filename = join(directory, file);
  const source = readFileSync(filename, 'utf8');
  const cachedData = matchingCache(`${filename}.cache`, source);
  const script = new Script(Module.wrap(source), {
    filename,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  wrapper.call(module.exports, module.exports, createRequire(filename), module, filename, dirname(filename));
  return module.exports;
}

function matchingCache(path: string, source: string): Buffer | undefined {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return undefined;
  }
  if (file.length <= 32 || !file.subarray(0, 32).equals(sha256(source))) return undefined;
  return file.subarray(32);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();
