import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Script } from 'node:vm';
import { loadChunk } from '../../bin/chunk-loader';

const DIST = resolve(__dirname, '../../dist');
const sha256 = (text: string) => createHash('sha256').update(text).digest();

describe('the command bundles in dist/ (built by the tests global setup)', () => {
  const chunks = readdirSync(DIST).filter((file) => file.endsWith('.js') && file !== 'cli.js');
  const cached = ['aws-usage.js', 'cluster-key.js', 'gc.js', 'retire-cluster.js', 'serve.js'];

  it('has one bundle per command, and the CLI itself is small', () => {
    expect(chunks.sort()).toEqual([...cached, 'report.js'].sort());
    // Argument parsing only: the commands' code is loaded when a command runs.
    expect(readFileSync(join(DIST, 'cli.js')).length).toBeLessThan(150_000);
  });

  it('leaves the CLI executable, with its shebang, however often it is rebuilt (npx runs it)', () => {
    expect(statSync(join(DIST, 'cli.js')).mode & 0o111).toBe(0o111);
    expect(readFileSync(join(DIST, 'cli.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it.each(cached)('%s holds no import(): code compiled through node:vm cannot run one', (chunk) => {
    expect(readFileSync(join(DIST, chunk), 'utf8')).not.toMatch(/[^\w$.]import\(/);
  });

  it.each(cached)('%s has a code cache made from exactly its source, which this V8 accepts', (chunk) => {
    const source = readFileSync(join(DIST, chunk), 'utf8');
    const cache = readFileSync(join(DIST, `${chunk}.cache`));
    expect(cache.subarray(0, 32).equals(sha256(source))).toBe(true);
    const script = new Script(Module.wrap(source), {
      filename: join(DIST, chunk),
      cachedData: cache.subarray(32),
    });
    expect(script.cachedDataRejected).toBe(false);
  });
});

describe('loadChunk', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chunk-loader-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const source = (answer: number) =>
    `exports.answer = ${answer}; exports.dir = __dirname; exports.file = __filename; exports.sep = require('node:path').sep; module.exports.self = this === exports;\n`;

  /** A cache file as the build writes it: `hashOf`'s SHA-256, then V8's data for `compiled`. */
  const writeCache = (file: string, hashOf: string, compiled: string) => {
    const data = new Script(Module.wrap(compiled), { filename: file }).createCachedData();
    writeFileSync(`${file}.cache`, Buffer.concat([sha256(hashOf), data]));
  };

  const expected = (answer: number) => ({
    answer,
    dir,
    file: join(dir, 'x.js'),
    sep: '/',
    self: true,
  });

  it('runs a bundle as a CommonJS module without a cache', () => {
    writeFileSync(join(dir, 'x.js'), source(1));
    expect(loadChunk('x.js', dir)).toEqual(expected(1));
  });

  it('runs a bundle the same with a cache made from its own source', () => {
    const file = join(dir, 'x.js');
    writeFileSync(file, source(2));
    writeCache(file, source(2), source(2));
    expect(loadChunk('x.js', dir)).toEqual(expected(2));
  });

  it('ignores a cache of another source of the same length (V8 would check only the length)', () => {
    const file = join(dir, 'x.js');
    writeFileSync(file, source(4));
    writeCache(file, source(3), source(3));
    expect(source(3)).toHaveLength(source(4).length);
    expect(loadChunk('x.js', dir)).toEqual(expected(4));
  });

  it('compiles as usual when V8 rejects the cached data, or the cache file is cut short', () => {
    const file = join(dir, 'x.js');
    writeFileSync(file, source(5));
    writeFileSync(`${file}.cache`, Buffer.concat([sha256(source(5)), Buffer.from('not V8 data')]));
    expect(loadChunk('x.js', dir)).toEqual(expected(5));
    writeFileSync(`${file}.cache`, sha256(source(5)).subarray(0, 10));
    expect(loadChunk('x.js', dir)).toEqual(expected(5));
  });
});
