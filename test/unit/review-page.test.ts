import type { PlanItem } from '../../lambdas/core/plan';
import type { RepositorySummary } from '../../lambdas/core/plan-summary';
import { formEntryBytes, MAX_APPROVAL_FORM_BYTES } from '../../lambdas/core/review-limit';
import {
  REVIEW_SCRIPT,
  REVIEW_STYLE,
  renderMessagePage,
  renderReviewPage,
} from '../../lambdas/core/review-page';
import { type ImageOutcome, imageKey, type ReviewView } from '../../lambdas/core/review-view';
import { shortDigest } from '../../lambdas/core/time-text';
import { digestOf } from '../fixtures/builders';

const NOW = new Date('2026-11-22T18:00:00Z');
const DAY = 86_400_000;
const GIB = 1024 ** 3;

// ---- builders -------------------------------------------------------------------------------

function aCandidate(name: string, repository = 'web', extra: Partial<PlanItem> = {}): PlanItem {
  const digest = digestOf(`${repository}/${name}`);
  return {
    repository,
    digest,
    tags: [name],
    pushedAt: new Date(NOW.getTime() - 20 * DAY),
    sizeBytes: GIB,
    role: 'root',
    root: digest,
    references: [],
    decision: 'delete',
    reason: `delete: ${name} beyond the newest 8, never seen`,
    ...extra,
  };
}

function memberOf(root: PlanItem, name: string, role: 'child' | 'referrer'): PlanItem {
  return aCandidate(name, root.repository, {
    tags: [],
    role,
    root: root.digest,
    sizeBytes: GIB / 2,
    reason: `delete: ${role === 'child' ? 'part of' : 'referrer of'} ${shortDigest(root.digest)} [${root.tags.join(', ')}], deleted with it`,
  });
}

function aRepository(
  repository: string,
  candidates: readonly PlanItem[],
  summary: Partial<RepositorySummary> = {},
): ReviewView['repositories'][number] {
  return {
    summary: {
      repository,
      totalImages: candidates.length * 3,
      candidates: candidates.length,
      candidateBytes: candidates.reduce((sum, item) => sum + item.sizeBytes, 0),
      topReasons: [],
      blockedBy: [],
      ...summary,
    },
    candidates,
  };
}

function aView(repositories: ReviewView['repositories'], extra: Partial<ReviewView> = {}): ReviewView {
  return {
    planId: 'p-2026-11-22T06',
    createdAt: new Date('2026-11-22T06:00:00Z'),
    status: 'PENDING',
    exp: '1764482400',
    sig: 'q3Jm_sig-value',
    linkExpiresAt: new Date('2026-11-30T06:00:00Z'),
    approvePath: '/v1/plans/p-2026-11-22T06/approve',
    repositories,
    now: NOW,
    ...extra,
  };
}

/** A repository with a tagged index (one platform child, one signature) and an untagged image. */
function webRepository() {
  const index = aCandidate('build-7');
  const child = memberOf(index, 'build-7-amd64', 'child');
  const signature = memberOf(index, 'build-7-sig', 'referrer');
  const untagged = aCandidate('dangling', 'web', { tags: [], reason: 'delete: untagged, never seen' });
  return { index, child, signature, untagged, candidates: [index, child, signature, untagged] };
}

// ---- a loose HTML reading: tags outside <style>/<script>, attributes decoded -----------------

interface Tag {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
}

const TAG =
  /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

function withoutInline(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, '<style></style>')
    .replace(/<script>[\s\S]*?<\/script>/g, '<script></script>');
}

function tagsOf(html: string): Tag[] {
  return [...withoutInline(html).matchAll(TAG)].map((match) => {
    const attrs: Record<string, string> = {};
    for (const attr of (match[2] ?? '').matchAll(ATTR)) {
      attrs[attr[1]!.toLowerCase()] = decode(attr[2] ?? attr[3] ?? attr[4] ?? '');
    }
    return { name: match[1]!.toLowerCase(), attrs };
  });
}

const NAMED: Readonly<Record<string, string>> = { quot: '"', lt: '<', gt: '>', amp: '&', apos: "'" };

/** Decodes character references in one pass, as a browser does (so `&#38;amp;` stays `&amp;`). */
function decode(text: string): string {
  return text.replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref.startsWith('#x') || ref.startsWith('#X'))
      return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number(ref.slice(1)));
    return NAMED[ref] ?? whole;
  });
}

/** The text a person reads in a fragment: tags dropped, entities decoded, spaces collapsed. */
function textOf(fragment: string): string {
  return decode(withoutInline(fragment).replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

function checkboxes(html: string): Tag[] {
  return tagsOf(html).filter((tag) => tag.name === 'input' && tag.attrs.type === 'checkbox');
}

function labels(html: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of html.matchAll(/<label for="([^"]*)">([\s\S]*?)<\/label>/g)) {
    found.set(decode(match[1]!), textOf(match[2]!));
  }
  return found;
}

function outcomeTexts(html: string): string[] {
  return [...html.matchAll(/<span class="outcome [a-z]+">([\s\S]*?)<\/span>/g)].map((m) => decode(m[1]!));
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

// ---- tests ----------------------------------------------------------------------------------

describe('renderReviewPage, pending plan', () => {
  it('offers every candidate as a checked checkbox named image with the value repository@digest', () => {
    // Prepare
    const web = webRepository();
    const api = [aCandidate('v1.0.0', 'team/api')];
    const view = aView([aRepository('web', web.candidates), aRepository('team/api', api)]);

    // Act
    const html = renderReviewPage(view);

    // Assess
    const boxes = checkboxes(html);
    expect(boxes.map((box) => box.attrs.value)).toEqual([...web.candidates, ...api].map(imageKey));
    for (const box of boxes) {
      expect(box.attrs.name).toBe('image');
      expect(box.attrs).toHaveProperty('checked');
      expect(box.attrs.disabled).toBeUndefined();
    }
    expect(new Set(boxes.map((box) => box.attrs.id)).size).toBe(boxes.length);
  });

  it('gives every checkbox a label naming its tag, or short digest when untagged, and its reason', () => {
    // Prepare
    const web = webRepository();
    const view = aView([aRepository('web', web.candidates)]);

    // Act
    const html = renderReviewPage(view);

    // Assess
    const byFor = labels(html);
    const boxes = checkboxes(html);
    expect(byFor.size).toBe(boxes.length);
    boxes.forEach((box, index) => {
      const item = web.candidates[index]!;
      const text = byFor.get(box.attrs.id!);
      expect(text).toBeDefined();
      expect(text).toContain(item.tags[0] ?? shortDigest(item.digest));
      expect(text).toContain(item.reason);
      expect(text).toContain('2026-11-02 18:00:00 UTC (20 days ago)');
    });
    expect(byFor.get(boxes[0]!.attrs.id!)).toContain('1.0 GiB');
  });

  it('posts one form to the approve path with the link’s exp and sig as hidden fields', () => {
    // Prepare
    const view = aView([aRepository('web', webRepository().candidates)]);

    // Act
    const html = renderReviewPage(view);

    // Assess
    const tags = tagsOf(html);
    const forms = tags.filter((tag) => tag.name === 'form');
    expect(forms).toEqual([
      { name: 'form', attrs: { id: 'approve', method: 'post', action: '/v1/plans/p-2026-11-22T06/approve' } },
    ]);
    const hidden = tags.filter((tag) => tag.name === 'input' && tag.attrs.type === 'hidden');
    expect(hidden.map((tag) => [tag.attrs.name, tag.attrs.value])).toEqual([
      ['exp', '1764482400'],
      ['sig', 'q3Jm_sig-value'],
    ]);
    expect(html).toMatch(/<button type="submit"[^>]*>Delete the checked images<\/button>/);
    expect(html.indexOf('</form>')).toBeGreaterThan(html.lastIndexOf('type="checkbox"'));
  });

  it('states the total, that nothing is deleted before the button is pressed, and when the link expires', () => {
    // Prepare
    const view = aView([aRepository('web', webRepository().candidates)]);

    // Act
    const text = textOf(renderReviewPage(view));

    // Assess
    expect(text).toContain('4 images, 3.0 GiB, up to $0.30 a month');
    expect(text).toContain('Nothing is deleted until you press “Delete the checked images”');
    expect(text).toContain('This link expires 2026-11-30 06:00:00 UTC.');
    expect(text).toContain('plan p-2026-11-22T06 of 2026-11-22 06:00:00 UTC');
  });

  it('shows a repository per fieldset, with its count and size in the legend', () => {
    // Prepare
    const view = aView([
      aRepository('web', webRepository().candidates, { totalImages: 40 }),
      aRepository('jobs', [aCandidate('nightly-3', 'jobs')], { totalImages: 1 }),
    ]);

    // Act
    const html = renderReviewPage(view);

    // Assess
    const legends = [...html.matchAll(/<legend>([\s\S]*?)<\/legend>/g)].map((m) => textOf(m[1]!));
    expect(legends).toEqual(['web — 4 of 40 images, 3.0 GiB', 'jobs — 1 of 1 image, 1.0 GiB']);
    expect(count(html, '<fieldset class="repo">')).toBe(2);
  });

  it('indents platform images and referrers under their root, with their role', () => {
    // Prepare
    const web = webRepository();
    const view = aView([aRepository('web', web.candidates)]);

    // Act
    const html = renderReviewPage(view);

    // Assess
    const family = html.match(/<li class="pick family">([\s\S]*?)<\/ul><\/li>/)?.[1] ?? '';
    const members = family.split('<ul class="members">')[1] ?? '';
    expect(family).toContain(`value="${web.index.repository}@${web.index.digest}"`);
    expect(members).toContain(`value="web@${web.child.digest}"`);
    expect(members).toContain(`value="web@${web.signature.digest}"`);
    expect(members).not.toContain(web.untagged.digest);
    expect(textOf(members)).toContain('platform image');
    expect(textOf(members)).toContain('signature or attestation');
  });

  it('lists blocked and failed repositories with their reason and without checkboxes', () => {
    // Prepare
    const stale = { cluster: 'edge-1', lastReportAt: new Date('2026-11-22T01:00:00Z') };
    const view = aView([
      aRepository('web', [aCandidate('build-1')]),
      aRepository('api', [aCandidate('v2', 'api')], { blockedBy: [stale] }),
      aRepository('legacy', [], { error: 'access denied: ecr:DescribeImages on legacy' }),
      aRepository('quiet', []),
    ]);

    // Act
    const html = renderReviewPage(view);

    // Assess
    expect(checkboxes(html).map((box) => box.attrs.value)).toEqual([imageKey(aCandidate('build-1'))]);
    const text = textOf(html);
    expect(text).toContain(
      'api deletions blocked: no recent report from cluster edge-1 (last report 2026-11-22 01:00:00 UTC (17 hours ago)); 1 candidate not offered',
    );
    expect(text).toContain('legacy could not be scanned: access denied: ecr:DescribeImages on legacy');
    expect(text).toContain('1 repository with nothing to delete');
  });

  it('holds back whole families beyond maxCandidates, says how many, and lists nothing as clean that has candidates', () => {
    // Prepare: web has an index with 2 members + 1 untagged (4), jobs 3 singles, api 2 singles.
    const web = webRepository();
    const jobs = ['nightly-1', 'nightly-2', 'nightly-3'].map((name) => aCandidate(name, 'jobs'));
    const api = ['v1', 'v2'].map((name) => aCandidate(name, 'api'));
    const view = aView(
      [aRepository('web', web.candidates), aRepository('jobs', jobs), aRepository('api', api)],
      {
        maxCandidates: 6,
      },
    );

    // Act
    const html = renderReviewPage(view);

    // Assess: web whole (4), then jobs up to the limit (2 of 3); api not at all.
    expect(checkboxes(html).map((box) => box.attrs.value)).toEqual(
      [...web.candidates, jobs[0]!, jobs[1]!].map((item) => imageKey(item)),
    );
    const text = textOf(html);
    expect(text).toContain(
      'This page lists 6 candidates, as many as one page and one approval can carry: 3 more, in 2 repositories, are not on it. They are not deleted now; the next scan proposes them again.',
    );
    expect(text).toContain('Images to delete: plan');
    expect(text).toContain('6 images');
    expect(text).not.toContain('with nothing to delete');
  });

  it('never cuts a family at the limit: the family that does not fit waits whole', () => {
    // Prepare: the index family (3) does not fit in the 2 places left after one single.
    const single = aCandidate('build-9');
    const web = webRepository();
    const view = aView([aRepository('web', [single, web.index, web.child, web.signature])], {
      maxCandidates: 3,
    });

    // Act
    const html = renderReviewPage(view);

    // Assess
    expect(checkboxes(html).map((box) => box.attrs.value)).toEqual([imageKey(single)]);
    expect(textOf(html)).toContain(
      'This page lists 1 candidate, as many as one page and one approval can carry: 3 more, in 1 repository, are not on it.',
    );
  });

  it('stops where the approval form would outgrow what one request carries', () => {
    // Prepare: 30,000 candidates with 200-character repository names: ~280 bytes each in the form.
    const template = aCandidate('b');
    const repository = `team/${'s'.repeat(195)}`;
    const candidates: PlanItem[] = [];
    for (let i = 0; i < 30_000; i++) {
      const digest = `sha256:${i.toString(16).padStart(64, '0')}`;
      candidates.push({ ...template, repository, digest, root: digest, tags: [`build-${i}`] });
    }
    const view = aView([aRepository(repository, candidates)], { maxCandidates: 40_000 });

    // Act
    const offered = checkboxes(renderReviewPage(view)).map((box) => box.attrs.value!);

    // Assess: under the budget, and as many as fit in it.
    const bytes = offered.reduce((sum, key) => sum + `image=${encodeURIComponent(key)}&`.length, 0);
    expect(bytes).toBeLessThanOrEqual(MAX_APPROVAL_FORM_BYTES);
    expect(bytes + formEntryBytes(candidates[offered.length]!)).toBeGreaterThan(MAX_APPROVAL_FORM_BYTES);
    expect(offered.length).toBeLessThan(30_000);
    expect(
      new URLSearchParams(offered.map((key): [string, string] => ['image', key])).toString().length + 1,
    ).toBe(bytes);
  });

  it('offers no form when nothing can be deleted', () => {
    // Prepare
    const view = aView([aRepository('quiet', [])]);

    // Act
    const html = renderReviewPage(view);

    // Assess
    expect(html).not.toContain('<form');
    expect(html).not.toContain(REVIEW_SCRIPT);
    expect(textOf(html)).toContain('Nothing to delete.');
  });
});

describe('renderReviewPage, hostile names', () => {
  const HOSTILE = `"><script>alert(1)</script>&amp;'`;
  const repository = `evil${HOSTILE}`;
  const hostileView = (extra: Partial<ReviewView> = {}) => {
    const item = aCandidate('x', repository, {
      tags: [`<img src=x onerror=alert(2)>${HOSTILE}`],
      reason: `delete: </label><script>alert(3)</script> & "quoted"`,
    });
    return {
      item,
      view: aView([aRepository(repository, [item])], {
        planId: `p${HOSTILE}`,
        exp: `1${HOSTILE}`,
        sig: `s${HOSTILE}`,
        approvePath: `/v1/plans/p${encodeURIComponent(HOSTILE)}/approve`,
        ...extra,
      }),
    };
  };

  it('escapes repository names, tags, reasons and link fields everywhere, attribute values included', () => {
    // Prepare
    const { item, view } = hostileView();

    // Act
    const html = renderReviewPage(view);

    // Assess
    const outside = withoutInline(html);
    expect(outside).not.toMatch(/<script>alert|<img/i);
    expect(count(html, '<script')).toBe(1);
    expect(tagsOf(html)).toHaveLength((outside.match(/<[a-zA-Z]/g) ?? []).length);
    expect(
      tagsOf(html)
        .flatMap((tag) => Object.keys(tag.attrs))
        .filter((name) => name.startsWith('on')),
    ).toEqual([]);
    const [box] = checkboxes(html);
    expect(box?.attrs.value).toBe(`${repository}@${item.digest}`);
    const hidden = tagsOf(html).filter((tag) => tag.attrs.type === 'hidden');
    expect(hidden.map((tag) => tag.attrs.value)).toEqual([view.exp, view.sig]);
    const label = labels(html).get(box!.attrs.id!) ?? '';
    expect(label).toContain(item.tags[0]);
    expect(label).toContain(item.reason);
    expect(textOf(html)).toContain(`Images to delete: plan p${HOSTILE}`);
  });

  it('escapes the approver, outcomes and ignored entries of an applied plan', () => {
    // Prepare
    const { item } = hostileView();
    const key = imageKey(item);
    const { view } = hostileView({
      status: 'APPLIED',
      outcomes: new Map<string, ImageOutcome>([[key, { status: 'failed', error: `<b>${HOSTILE}</b>` }]]),
      approval: {
        approvedAt: new Date('2026-11-22T17:55:00Z'),
        sourceIp: `203.0.113.9${HOSTILE}`,
        userAgent: `Agent${HOSTILE}`,
        approved: [key],
        ignored: [`other${HOSTILE}@sha256:00`],
      },
    });

    // Act
    const html = renderReviewPage(view);

    // Assess
    const outside = withoutInline(html);
    expect(outside).not.toMatch(/<script>alert|<img|<b>/i);
    expect(outside).not.toContain('<script');
    expect(tagsOf(html)).toHaveLength((outside.match(/<[a-zA-Z]/g) ?? []).length);
    expect(outcomeTexts(html)).toEqual([`failed: <b>${HOSTILE}</b>`]);
    const text = textOf(html);
    expect(text).toContain(`from 203.0.113.9${HOSTILE}, user agent “Agent${HOSTILE}”`);
    expect(text).toContain(
      `Not candidates of this plan (or not offered on its page), ignored: 1 other${HOSTILE}@sha256:00`,
    );
  });
});

describe('renderReviewPage, self-contained', () => {
  const statuses = ['PENDING', 'APPROVED', 'APPLIED', 'SCANNING', 'FAILED'] as const;

  it.each(statuses)('loads nothing from another origin when %s', (status) => {
    // Prepare
    const web = webRepository();
    const view = aView([aRepository('web', web.candidates)], {
      status,
      error: 'ListImages failed',
      approval: { approvedAt: NOW, approved: [imageKey(web.index)], ignored: [] },
    });

    // Act
    const html = renderReviewPage(view);

    // Assess
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
    for (const tag of tagsOf(html)) {
      expect(tag.attrs.src).toBeUndefined();
      expect(tag.attrs.srcset).toBeUndefined();
      if (tag.attrs.href !== undefined) expect(tag.attrs.href).toMatch(/^\/(?![/\\])/);
      if (tag.attrs.action !== undefined) expect(tag.attrs.action).toMatch(/^\/(?![/\\])/);
      expect(['link', 'img', 'iframe', 'object', 'embed', 'base']).not.toContain(tag.name);
    }
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  });

  it('embeds REVIEW_STYLE and REVIEW_SCRIPT verbatim, once each, inside style and script', () => {
    // Prepare
    const view = aView([aRepository('web', webRepository().candidates)]);

    // Act
    const html = renderReviewPage(view);

    // Assess
    expect(count(html, REVIEW_STYLE)).toBe(1);
    expect(count(html, REVIEW_SCRIPT)).toBe(1);
    expect(count(html, `<style>${REVIEW_STYLE}</style>`)).toBe(1);
    expect(count(html, `<script>${REVIEW_SCRIPT}</script>`)).toBe(1);
    expect(count(html, '<style')).toBe(1);
    expect(count(html, '<script')).toBe(1);
    expect(REVIEW_STYLE).not.toMatch(/<\/style|https?:|url\(|@import/i);
    expect(REVIEW_SCRIPT).not.toMatch(/<\/script|<!--/i);
  });
});

describe('REVIEW_SCRIPT', () => {
  it('never submits, fetches or navigates', () => {
    // Prepare
    const forbidden =
      /fetch|XMLHttpRequest|sendBeacon|WebSocket|EventSource|\.submit\(|requestSubmit|location|window\.open|import\(|\.src\b|href|action|eval\(|Function\(/;

    // Act
    const compile = () => new Function(REVIEW_SCRIPT);

    // Assess
    expect(compile).not.toThrow();
    expect(REVIEW_SCRIPT).not.toMatch(forbidden);
  });

  it('keeps a live total of the checked images and selects a repository all or none', () => {
    // Prepare
    const page = fakePage([
      { bytes: GIB, family: true, members: [GIB / 2, GIB / 2] },
      { bytes: GIB / 2, family: false, members: [] },
    ]);

    // Act
    page.run();
    const initial = page.total();
    page.click('Select none');
    const none = page.total();
    page.boxes[0]!.checked = true;
    page.change(page.boxes[0]!);
    const family = page.total();

    // Assess
    expect(initial).toBe('Checked: 4 images, 2.5 GiB, up to $0.25 a month');
    expect(none).toBe('Checked: 0 images, 0 B, up to $0.00 a month');
    expect(family).toBe('Checked: 3 images, 2.0 GiB, up to $0.20 a month');
  });
});

describe('renderReviewPage, approved and applied plans', () => {
  function outcomeView(status: 'APPROVED' | 'APPLIED') {
    const web = webRepository();
    const kept = aCandidate('build-2');
    const outcomes = new Map<string, ImageOutcome>([
      [imageKey(web.index), { status: 'deleted' }],
      [imageKey(web.child), { status: 'skipped', reason: 'became protected since the scan (kept: seen)' }],
      [imageKey(web.signature), { status: 'failed', error: 'ImageReferencedByManifestList: in use' }],
    ]);
    const view = aView([aRepository('web', [...web.candidates, kept])], {
      status,
      outcomes,
      approval: {
        approvedAt: new Date('2026-11-22T17:55:00Z'),
        sourceIp: '203.0.113.9',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
        approved: [web.index, web.child, web.signature, web.untagged].map(imageKey),
        ignored: ['web@sha256:not-a-candidate'],
      },
    });
    return { view, web };
  }

  it('shows each image’s outcome exactly and never a checkbox once applied', () => {
    // Prepare
    const { view } = outcomeView('APPLIED');

    // Act
    const html = renderReviewPage(view);

    // Assess
    expect(outcomeTexts(html)).toEqual([
      'deleted',
      'skipped: became protected since the scan (kept: seen)',
      'failed: ImageReferencedByManifestList: in use',
      'no outcome recorded',
      'kept (not approved)',
    ]);
    expect(html).not.toMatch(/<input[^>]*type="checkbox"/);
    expect(html).not.toContain('<form');
    expect(html).not.toContain(REVIEW_SCRIPT);
  });

  it('tells who approved and when, and lists the ignored entries', () => {
    // Prepare
    const { view } = outcomeView('APPLIED');

    // Act
    const text = textOf(renderReviewPage(view));

    // Assess
    expect(text).toContain(
      'Approved 2026-11-22 17:55:00 UTC (5 minutes ago) from 203.0.113.9, user agent “Mozilla/5.0 (X11; Linux x86_64)”.',
    );
    expect(text).toContain(
      'Not candidates of this plan (or not offered on its page), ignored: 1 web@sha256:not-a-candidate',
    );
    expect(text).toContain(
      '1 image deleted (1.0 GiB), 1 skipped, 1 failed, 1 with no outcome recorded, 1 kept',
    );
  });

  it('marks images without an outcome pending while the deletion runs, with a note to reload', () => {
    // Prepare
    const { view } = outcomeView('APPROVED');

    // Act
    const html = renderReviewPage(view);

    // Assess
    expect(outcomeTexts(html)).toContain('pending');
    expect(outcomeTexts(html)).not.toContain('no outcome recorded');
    expect(textOf(html)).toContain('Reload this page to see their outcomes');
    const links = tagsOf(html).filter((tag) => tag.name === 'a');
    expect(links.map((tag) => tag.attrs.href)).toEqual([
      '/v1/plans/p-2026-11-22T06?exp=1764482400&sig=q3Jm_sig-value',
    ]);
    expect(html).not.toMatch(/<input[^>]*type="checkbox"/);
    expect(html).not.toContain('<form');
  });
});

describe('renderReviewPage, scans', () => {
  it('says a scan is in progress, with nothing to approve', () => {
    // Prepare
    const view = aView([], { status: 'SCANNING', createdAt: new Date('2026-11-22T17:58:00Z') });

    // Act
    const html = renderReviewPage(view);

    // Assess
    expect(textOf(html)).toContain('Scan in progress');
    expect(textOf(html)).toContain('The scan started 2026-11-22 17:58:00 UTC (2 minutes ago)');
    expect(html).not.toContain('<form');
  });

  it('shows why a scan failed, escaped', () => {
    // Prepare
    const view = aView([], { status: 'FAILED', error: 'AccessDenied <ecr:DescribeRepositories> & more' });

    // Act
    const html = renderReviewPage(view);

    // Assess
    expect(html).toContain('AccessDenied &#60;ecr:DescribeRepositories&#62; &#38; more');
    expect(textOf(html)).toContain('Scan failed');
    expect(html).not.toContain('<form');
  });
});

describe('renderMessagePage', () => {
  it('renders a short message in the review page’s style, escaped', () => {
    // Prepare
    const title = 'Link expired';

    // Act
    const html = renderMessagePage(title, 'Ask for a new link <now> & "soon"');

    // Assess
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(count(html, `<style>${REVIEW_STYLE}</style>`)).toBe(1);
    expect(html).toContain('<h1>Link expired</h1>');
    expect(html).toContain('Ask for a new link &#60;now&#62; &#38; &#34;soon&#34;');
    expect(html).not.toContain('<script');
  });
});

describe('renderReviewPage, large plans', () => {
  it('renders a plan of 100,000 candidates', () => {
    // Prepare
    const candidates: PlanItem[] = [];
    const template = aCandidate('b');
    for (let i = 0; i < 100_000; i++) {
      const digest = `sha256:${i.toString(16).padStart(64, '0')}`;
      const repository = i < 60_000 ? 'web' : 'api';
      candidates.push({ ...template, repository, digest, root: digest, tags: [`build-${i}`] });
    }
    const view = aView([
      aRepository('web', candidates.slice(0, 60_000)),
      aRepository('api', candidates.slice(60_000)),
    ]);

    // Act
    const started = performance.now();
    const html = renderReviewPage(view);
    const elapsedMs = performance.now() - started;

    // Assess
    console.info(
      `100,000 candidates: ${(html.length / 1e6).toFixed(1)} MB of HTML in ${elapsedMs.toFixed(0)} ms`,
    );
    expect(count(html, '<input type="checkbox" name="image"')).toBe(100_000);
    expect(html.includes(`value="api@${candidates[99_999]!.digest}"`)).toBe(true);
    expect(html.match(/<p class="total">([^<]*)<\/p>/)?.[1]).toBe(
      '100000 images, 97.7 TiB, up to $10000.00 a month',
    );
  });
});

// ---- a fake DOM, just enough to run REVIEW_SCRIPT ---------------------------------------------

interface FakeBox {
  name: string;
  checked: boolean;
  parentNode: unknown;
  getAttribute(name: string): string | null;
}

type Listener = (event: { target: unknown }) => void;

function fakePage(roots: readonly { bytes: number; family: boolean; members: readonly number[] }[]) {
  const boxes: FakeBox[] = [];
  const buttons: { textContent: string; click: () => void }[] = [];
  const listeners = new Map<string, Listener>();
  for (const root of roots) {
    const members: FakeBox[] = root.members.map((bytes) => aBox(bytes, {}));
    const li = {
      classList: { contains: (name: string) => name === 'family' && root.family },
      querySelectorAll: () => members,
    };
    boxes.push(aBox(root.bytes, li), ...members);
  }
  const live = { textContent: '', hidden: true };
  const fieldset = {
    querySelectorAll: () => boxes,
    querySelector: () => null,
    insertBefore: () => undefined,
  };
  const form = {
    querySelectorAll: (selector: string) => (selector === 'fieldset.repo' ? [fieldset] : boxes),
    querySelector: () => null,
    addEventListener: (type: string, listener: Listener) => listeners.set(type, listener),
  };
  const document = {
    getElementById: (id: string) => (id === 'approve' ? form : id === 'checked-total' ? live : null),
    createElement: () => {
      const element: { textContent: string; click: () => void; [other: string]: unknown } = {
        textContent: '',
        click: () => undefined,
        appendChild: () => undefined,
        addEventListener: (_: string, listener: () => void) => {
          element.click = listener;
        },
      };
      buttons.push(element);
      return element;
    },
  };
  return {
    boxes,
    run: () => new Function('document', REVIEW_SCRIPT)(document),
    total: () => live.textContent,
    click: (text: string) => buttons.find((button) => button.textContent === text)?.click(),
    change: (target: FakeBox) => listeners.get('change')?.({ target }),
  };
}

function aBox(bytes: number, parentNode: unknown): FakeBox {
  return {
    name: 'image',
    checked: true,
    parentNode,
    getAttribute: (name: string) => (name === 'data-bytes' ? String(bytes) : null),
  };
}
