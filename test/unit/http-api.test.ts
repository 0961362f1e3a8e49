import { gunzipSync } from 'node:zlib';
import { acceptsGzip, gzippedFor, type HttpApiEvent } from '../../lambdas/handlers/http-api';

const withEncoding = (value?: string): HttpApiEvent => ({
  headers: value === undefined ? {} : { 'Accept-Encoding': value },
});

describe('acceptsGzip', () => {
  it.each([
    ['gzip, deflate, br', true],
    ['br;q=1.0, gzip;q=0.8', true],
    ['*', true],
    ['gzip;q=0', false],
    ['gzip;q=0, *', false],
    ['br, *;q=0.1', true],
    ['*;q=0', false],
    ['br, identity', false],
    [undefined, false],
  ])('Accept-Encoding %s → %s', (value, expected) => {
    expect(acceptsGzip(withEncoding(value))).toBe(expected);
  });
});

describe('gzippedFor', () => {
  const page = {
    statusCode: 200,
    headers: { 'content-type': 'text/html' },
    body: '<p>row</p>'.repeat(5_000),
  };

  it('gzips a large body for a client that takes gzip, keeping the headers', () => {
    const result = gzippedFor(withEncoding('gzip'), page);
    expect(result).toMatchObject({
      statusCode: 200,
      isBase64Encoded: true,
      headers: { 'content-type': 'text/html', 'content-encoding': 'gzip', vary: 'accept-encoding' },
    });
    expect(gunzipSync(Buffer.from(result.body, 'base64')).toString('utf8')).toBe(page.body);
  });

  it('leaves a small body, and any body for a client without gzip, as it is', () => {
    expect(gzippedFor(withEncoding('gzip'), { ...page, body: '<p>ok</p>' }).isBase64Encoded).toBeUndefined();
    expect(gzippedFor(withEncoding(), page)).toBe(page);
  });
});
