import { paginate } from '../../lambdas/adapters/dynamo-helpers';

describe('paginate', () => {
  it('counts UTF-8 bytes, as DynamoDB counts an item: a page of CJK reasons stays under its limit', () => {
    // 3 bytes a character: counted in characters, a page would reach ~900 KB, past DynamoDB's 400 KB.
    const reason = '保持'.repeat(66);
    const items = Array.from({ length: 5_000 }, (_, i) => ({ digest: `sha256:${i}`, reason }));
    const pages = paginate(items);
    expect(pages.flat()).toEqual(items);
    for (const page of pages) expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThanOrEqual(300_000);
    expect(pages.length).toBeGreaterThan(1);
  });
});
