import fc from 'fast-check';
import { clusterReportSchema } from '../../lambdas/core/report';
import { isClusterName, parseInterval, readReporterConfig, sightingsUrl } from '../../reporter/src/config';
import { ReporterConfigError } from '../../reporter/src/errors';

const KEY = 'a1'.repeat(32);
const ENV = {
  JANITOR_ENDPOINT: 'https://ingest.example.com',
  JANITOR_CLUSTER: 'prod-eu',
  JANITOR_CLUSTER_KEY: KEY,
};

describe('--interval', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['90m', 5_400_000],
  ])('reads %s', (text, ms) => {
    expect(parseInterval(text)).toBe(ms);
  });

  it.each(['0s', '5', '1d', '-5m', '1.5m', 'm', '', '5 m x'])('refuses %p naming the flag', (text) => {
    expect(() => parseInterval(text)).toThrow(ReporterConfigError);
    expect(() => parseInterval(text)).toThrow(/--interval/);
  });

  // Node waits at most 2,147,483,647 ms on a timer, and turns anything longer into 1 ms.
  it.each([
    ['999999s', 999_999_000],
    ['35791m', 2_147_460_000],
    ['596h', 2_145_600_000],
  ])('reads %s, as long as a timer waits', (text, ms) => {
    expect(parseInterval(text)).toBe(ms);
  });

  it.each([
    ['--interval', '35792m'],
    ['--interval', '999999m'],
    ['--interval', '597h'],
    ['--deadline', '600h'],
    ['--deadline', '999999h'],
  ])('refuses %s %s, longer than a timer waits, naming the flag, the value and the limit', (flag, text) => {
    expect(() => parseInterval(text, flag)).toThrow(ReporterConfigError);
    expect(() => parseInterval(text, flag)).toThrow(
      `${flag} may be at most 596h (35791m), as long as Node's timers wait, got '${text}'`,
    );
  });
});

describe('JANITOR_ENDPOINT', () => {
  it.each([
    [
      'https://x.execute-api.eu-west-1.amazonaws.com/prod',
      'https://x.execute-api.eu-west-1.amazonaws.com/prod/v1/sightings',
    ],
    [
      'https://x.execute-api.eu-west-1.amazonaws.com/prod/',
      'https://x.execute-api.eu-west-1.amazonaws.com/prod/v1/sightings',
    ],
    ['https://janitor.example.com', 'https://janitor.example.com/v1/sightings'],
    ['http://127.0.0.1:8787/', 'http://127.0.0.1:8787/v1/sightings'],
  ])('keeps the path of %s', (endpoint, url) => {
    expect(sightingsUrl(endpoint).href).toBe(url);
  });

  it.each(['ftp://x/prod', 'not a url', 'https://x/prod?stage=1', 'https://user:pw@x/prod'])(
    'refuses %s',
    (endpoint) => {
      expect(() => sightingsUrl(endpoint)).toThrow(/JANITOR_ENDPOINT/);
    },
  );
});

describe('the reporter environment', () => {
  it('reads the cluster, the ingest URL and the key', () => {
    const config = readReporterConfig({ once: true }, ENV);
    expect(config).toEqual({
      cluster: 'prod-eu',
      once: true,
      dryRun: false,
      intervalMs: 300_000,
      ingest: { url: new URL('https://ingest.example.com/v1/sightings'), key: KEY },
    });
  });

  it.each(['JANITOR_ENDPOINT', 'JANITOR_CLUSTER', 'JANITOR_CLUSTER_KEY'])(
    'names %s when it is missing',
    (name) => {
      const env = { ...ENV, [name]: undefined };
      expect(() => readReporterConfig({}, env)).toThrow(new RegExp(`^${name} is not set`));
    },
  );

  it.each([
    ['uppercase hex', KEY.toUpperCase()],
    ['63 characters', KEY.slice(1)],
    ['not hex', 'z'.repeat(64)],
  ])('refuses a key in %s, without printing it', (_, key) => {
    const read = () => readReporterConfig({}, { ...ENV, JANITOR_CLUSTER_KEY: key });
    expect(read).toThrow(/JANITOR_CLUSTER_KEY must be 64 lowercase hex characters/);
    expect(read).not.toThrow(key);
  });

  it('accepts the key with the newline a file-based Secret leaves', () => {
    expect(readReporterConfig({}, { ...ENV, JANITOR_CLUSTER_KEY: `${KEY}\n` }).ingest?.key).toBe(KEY);
  });

  it('refuses a cluster name the ingest would refuse', () => {
    expect(() => readReporterConfig({}, { ...ENV, JANITOR_CLUSTER: '<cluster-name>' })).toThrow(
      /JANITOR_CLUSTER '<cluster-name>' is invalid/,
    );
  });

  it('needs neither endpoint nor key for --dry-run, which reports once', () => {
    const config = readReporterConfig({ dryRun: true }, { JANITOR_CLUSTER: 'prod-eu' });
    expect(config).toMatchObject({ dryRun: true, once: true });
    expect(config.ingest).toBeUndefined();
  });

  it('accepts exactly the cluster names the ingest body schema accepts (property)', () => {
    const alphabet = fc.constantFrom(...'aZ09._:-/ <é'.split(''));
    const names = fc.oneof(
      fc.string({ unit: alphabet, maxLength: 12 }),
      fc.string({ minLength: 120, maxLength: 140, unit: fc.constantFrom('a', '-') }),
      // The reserved prefix, in any case, with whatever follows.
      fc
        .tuple(
          fc.constantFrom('aws:', 'AWS:', 'Aws:', 'aws', 'awsx:'),
          fc.string({ unit: alphabet, maxLength: 6 }),
        )
        .map(([prefix, rest]) => `${prefix}${rest}`),
    );
    fc.assert(
      fc.property(names, (name) => {
        expect(isClusterName(name)).toBe(clusterReportSchema.shape.cluster.safeParse(name).success);
      }),
    );
  });
});
