import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import type { Browser } from 'playwright-core';
import { handleApprove, handleReview } from '../../lambdas/handlers/review';
import { startHttpServer } from '../../lambdas/local/http-server';
import { CHROMIUM, launchChromium } from '../fixtures/browser';
import { type LocalDynamo, startDynalite } from '../fixtures/dynalite';
import { janitorWorld } from '../fixtures/janitor-world';
import { describeWithBinary } from '../fixtures/real-component';

const OUTPUT = join(__dirname, '..', '..', 'test-output');
const ecr = mockClient(ECRClient);
const now = { value: new Date() };

describeWithBinary('the review page in a real browser', CHROMIUM, 'chromium', () => {
  let dynamo: LocalDynamo;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    dynamo = await startDynalite();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await dynamo?.close();
  });
  beforeEach(() => ecr.reset());

  /** A pending plan of four images in `web` and `api`, served over HTTP by the real handlers. */
  async function servedPlan() {
    now.value = new Date();
    const world = await janitorWorld(dynamo, ecr, now);
    world.seed('web', ['build-1', 'build-2', 'build-3']);
    world.seed('api', ['v1']);
    const { link } = await world.scan();
    const server = await startHttpServer([
      { method: 'GET', path: '/v1/plans/{id}', handle: (event) => handleReview(event, world.reviewDeps) },
      {
        method: 'POST',
        path: '/v1/plans/{id}/approve',
        handle: (event) => handleApprove(event, world.reviewDeps),
      },
    ]);
    const local = new URL(`${link!.pathname}${link!.search}`, server.url);
    return { world, server, url: local.toString() };
  }

  it('lets a person untick one image, approve, and see what happened', async () => {
    // Prepare
    const { world, server, url } = await servedPlan();
    const page = await browser.newPage({ viewport: { width: 900, height: 1200 } });
    try {
      // Act
      await page.goto(url);
      await page.screenshot({ path: join(OUTPUT, 'review-page.png'), fullPage: true });
      const boxes = page.locator('input[type="checkbox"][name="image"]');
      expect(await boxes.count()).toBe(4);
      await page.getByLabel(/build-2/).uncheck();
      await Promise.all([
        page.waitForLoadState('load'),
        page.getByRole('button', { name: /delete the checked images/i }).click(),
      ]);
      await world.deletionsDone();
      await page.goto(url);
      await page.screenshot({ path: join(OUTPUT, 'review-outcomes.png'), fullPage: true });

      // Assess
      expect(world.tagsOf('web')).toEqual(['build-2']);
      expect(world.tagsOf('api')).toEqual([]);
      const text = (await page.locator('body').textContent()) ?? '';
      expect(text).toMatch(/deleted/);
      expect(text).toMatch(/kept \(not approved\)/);
      expect(await page.locator('input[type="checkbox"]').count()).toBe(0);
    } finally {
      await page.close();
      await server.close();
    }
  });

  it('works with JavaScript disabled', async () => {
    // Prepare
    const { world, server, url } = await servedPlan();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      // Act
      await page.goto(url);
      await page.getByLabel(/build-1/).uncheck();
      await Promise.all([
        page.waitForLoadState('load'),
        page.getByRole('button', { name: /delete the checked images/i }).click(),
      ]);
      await world.deletionsDone();

      // Assess
      expect(world.tagsOf('web')).toEqual(['build-1']);
      expect(world.tagsOf('api')).toEqual([]);
    } finally {
      await context.close();
      await server.close();
    }
  });

  it('refuses the approval form when another site posts it (serve checks what the browser says)', async () => {
    // Prepare: a page of another site holding a copy of the form, link and all.
    const { world, server, url } = await servedPlan();
    const page = await browser.newPage();
    try {
      const link = new URL(url);
      await page.goto(url);
      const boxes = await page.locator('input[name="image"]').all();
      const images = await Promise.all(boxes.map((box) => box.getAttribute('value')));
      expect(images).toHaveLength(4);
      const fields = [
        ...images.map((image) => `<input name="image" value="${image}">`),
        `<input name="exp" value="${link.searchParams.get('exp')}">`,
        `<input name="sig" value="${link.searchParams.get('sig')}">`,
      ].join('');
      await page.goto('about:blank');
      await page.setContent(
        `<form method="post" action="${link.origin}${link.pathname}/approve">${fields}<button>Go</button></form>`,
      );

      // Act
      const [answer] = await Promise.all([
        page.waitForResponse((response) => response.url().endsWith('/approve')),
        page.getByRole('button', { name: 'Go' }).click(),
      ]);
      await world.deletionsDone();

      // Assess
      expect(answer.status()).toBe(403);
      expect(world.tagsOf('web')).toEqual(['build-1', 'build-2', 'build-3']);
    } finally {
      await page.close();
      await server.close();
    }
  });

  it('changes nothing when a mail scanner fetches the link three times and sends a HEAD', async () => {
    // Prepare
    const { world, server, url } = await servedPlan();
    const page = await browser.newPage();
    try {
      // Act: a scanner that renders the page and runs its script, then plain fetches.
      await page.goto(url);
      await page.goto(url);
      await fetch(url);
      const head = await fetch(url, { method: 'HEAD' });

      // Assess
      expect(head.status).toBe(200);
      expect(world.tagsOf('web')).toEqual(['build-1', 'build-2', 'build-3']);
      expect(world.tagsOf('api')).toEqual(['v1']);
      expect(ecr.commandCalls((await import('@aws-sdk/client-ecr')).BatchDeleteImageCommand)).toHaveLength(0);
    } finally {
      await page.close();
      await server.close();
    }
  });
});
