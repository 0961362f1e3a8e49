import { escapeHtml } from './digest';
import { lastReportText, type PlanItem } from './plan';
import { ownBytes, type RepositorySummary } from './plan-summary';
import { type Held, heldText, withinLimit } from './review-limit';
import {
  candidateControl,
  familyGroups,
  familyList,
  htmlDocument,
  imageDetails,
  sizeOf,
  totalText,
  utcText,
  whenText,
} from './review-page-parts';
import { type ImageOutcome, imageKey, type ReviewView } from './review-view';
import { ago, plural } from './time-text';
import { formatBytes } from './units';

export { REVIEW_SCRIPT, REVIEW_STYLE } from './review-page-parts';

type RepositoryView = ReviewView['repositories'][number];

/**
 * The review page of a plan, as one self-contained HTML document (inline `REVIEW_STYLE`, and
 * `REVIEW_SCRIPT` only where there is a form; nothing loaded from anywhere). A pending plan shows
 * every candidate as a checked checkbox `image=<repository>@<digest>` in one form that posts to
 * `view.approvePath`; an approved or applied plan shows each image's outcome and no checkbox.
 *
 * @example
 * const html = renderReviewPage(view); // served with the CSP that allows REVIEW_STYLE and REVIEW_SCRIPT by hash
 */
export function renderReviewPage(view: ReviewView): string {
  switch (view.status) {
    case 'PENDING':
      return renderPending(view);
    case 'APPROVED':
    case 'APPLIED':
      return renderOutcomes(view);
    case 'SCANNING':
      return renderScanning(view);
    case 'FAILED':
      return renderFailed(view);
  }
}

/** A small page for 403, 404, 409 and 410 answers, in the review page's style. */
export function renderMessagePage(title: string, message: string): string {
  const body = `<main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p class="note">registry-janitor</p></main>`;
  return htmlDocument(`${title} — registry-janitor`, body);
}

function planTitle(view: ReviewView): string {
  return `plan ${view.planId} of ${utcText(view.createdAt)}`;
}

function isProblem(summary: RepositorySummary): boolean {
  return summary.error !== undefined || summary.blockedBy.length > 0;
}

/**
 * What a pending plan's page offers, repository by repository: the candidates of repositories
 * that are neither blocked nor failed, up to `view.maxCandidates`; and what it holds back. An
 * approval is read against the same offer (nothing the page did not show can be approved).
 */
export function offeredCandidates(view: ReviewView): {
  readonly candidates: readonly RepositoryView[];
  readonly offered: readonly RepositoryView[];
  readonly held: Held;
} {
  const candidates = view.repositories.filter(
    (repo) => !isProblem(repo.summary) && repo.candidates.length > 0,
  );
  return { candidates, ...withinLimit(candidates, view.maxCandidates ?? Number.POSITIVE_INFINITY) };
}

function renderPending(view: ReviewView): string {
  const { candidates, offered, held } = offeredCandidates(view);
  const total = sizeOf(offered.flatMap((repo) => repo.candidates));
  const parts = [
    `<header><h1>Images to delete: ${escapeHtml(planTitle(view))}</h1>`,
    `<p class="total">${escapeHtml(total.count === 0 ? 'Nothing to delete.' : totalText(total.count, total.bytes))}</p></header>`,
  ];
  if (total.count === 0) parts.push('<p>Nothing can be deleted safely right now.</p>');
  else parts.push(approvalForm(view, offered, held));
  parts.push(problemList(view), cleanList(view.repositories, candidates));
  return htmlDocument(
    `Review ${planTitle(view)} — registry-janitor`,
    `<main>${parts.join('\n')}</main>`,
    total.count > 0,
  );
}

const countOf = (repositories: readonly RepositoryView[]) =>
  repositories.reduce((count, repo) => count + repo.candidates.length, 0);

function approvalForm(view: ReviewView, offered: readonly RepositoryView[], held: Held): string {
  let next = 0;
  const row = (item: PlanItem) => candidateControl(item, `i${next++}`, view.now);
  const fieldsets = offered.map((repo) => {
    const { count, bytes } = sizeOf(repo.candidates);
    const legend = `${repo.summary.repository} — ${count} of ${plural(repo.summary.totalImages, 'image')}, ${formatBytes(bytes)}`;
    return `<fieldset class="repo"><legend>${escapeHtml(legend)}</legend>${familyList(familyGroups(repo.candidates), row, 'pick')}</fieldset>`;
  });
  return [
    `<p class="note">${escapeHtml(noteText(view))}</p>`,
    ...(held.candidates > 0
      ? [`<p class="note held">${escapeHtml(heldText(held, countOf(offered)))}</p>`]
      : []),
    `<form id="approve" method="post" action="${escapeHtml(view.approvePath)}">`,
    `<input type="hidden" name="exp" value="${escapeHtml(view.exp)}">`,
    `<input type="hidden" name="sig" value="${escapeHtml(view.sig)}">`,
    ...(view.maxCandidates === undefined
      ? []
      : [`<input type="hidden" name="limit" value="${escapeHtml(String(view.maxCandidates))}">`]),
    ...fieldsets,
    '<div class="actions"><p id="checked-total" class="total" aria-live="polite" hidden></p>',
    '<button type="submit" class="delete">Delete the checked images</button></div>',
    '</form>',
  ].join('\n');
}

function noteText(view: ReviewView): string {
  return [
    'Nothing is deleted until you press “Delete the checked images”; uncheck what you want to keep.',
    'Just before deleting, each image is checked once more and skipped if anything started using it.',
    'Platform images and signatures are listed under the image they belong to and are skipped unless it is checked too.',
    `This link expires ${utcText(view.linkExpiresAt)}.`,
  ].join(' ');
}

/** Blocked and failed repositories: their reason, and no checkbox. */
function problemList(view: ReviewView): string {
  const problems = view.repositories.filter((repo) => isProblem(repo.summary));
  if (problems.length === 0) return '';
  const items = problems.map((repo) => {
    const { summary } = repo;
    const reasons: string[] = [];
    if (summary.error !== undefined) reasons.push(`could not be scanned: ${summary.error}`);
    for (const stale of summary.blockedBy) {
      reasons.push(
        `deletions blocked: no recent report from cluster ${stale.cluster} (${lastReportText(stale, whenText(stale.lastReportAt, view.now))})`,
      );
    }
    if (repo.candidates.length > 0)
      reasons.push(`${plural(repo.candidates.length, 'candidate')} not offered`);
    return `<li class="problem"><span class="name">${escapeHtml(summary.repository)}</span> <span class="reason">${escapeHtml(reasons.join('; '))}</span></li>`;
  });
  return `<h2>Not proposed (nothing in them is deleted)</h2><ul class="plain">${items.join('')}</ul>`;
}

function cleanList(repositories: readonly RepositoryView[], offered: readonly RepositoryView[]): string {
  const shown = new Set(offered);
  const clean = repositories.filter((repo) => !shown.has(repo) && !isProblem(repo.summary));
  if (clean.length === 0) return '';
  const names = clean.map((repo) => `<li>${escapeHtml(repo.summary.repository)}</li>`).join('');
  return `<details><summary>${escapeHtml(plural(clean.length, 'repository'))} with nothing to delete</summary><ul class="plain">${names}</ul></details>`;
}

interface Shown {
  readonly cls: string;
  readonly text: string;
}

function renderOutcomes(view: ReviewView): string {
  const approved = new Set(view.approval?.approved ?? [...(view.outcomes?.keys() ?? [])]);
  const running = view.status === 'APPROVED';
  const counts = new Map<string, number>();
  let deletedBytes = 0;
  const seen = new Set<string>();
  const shownOf = (item: PlanItem): Shown => {
    const key = imageKey(item);
    seen.add(key);
    const shown = outcomeShown(approved.has(key), view.outcomes?.get(key), running);
    counts.set(shown.cls, (counts.get(shown.cls) ?? 0) + 1);
    if (shown.cls === 'deleted') deletedBytes += ownBytes(item);
    return shown;
  };
  const withCandidates = view.repositories.filter((repo) => repo.candidates.length > 0);
  const shownByKey = new Map<string, Shown>();
  for (const repo of withCandidates)
    for (const item of repo.candidates) shownByKey.set(imageKey(item), shownOf(item));
  const row = (item: PlanItem) => {
    const shown = shownByKey.get(imageKey(item))!;
    return `<span class="outcome ${shown.cls}">${escapeHtml(shown.text)}</span> ${imageDetails(item, view.now)}`;
  };
  // The totals count every candidate; the rows stop at the page's limit (whole families).
  const { offered: listed, held } = withinLimit(
    withCandidates,
    view.maxCandidates ?? Number.POSITIVE_INFINITY,
  );
  const sections = listed.map(
    (repo) =>
      `<section class="repo"><h2>${escapeHtml(repo.summary.repository)}</h2>${familyList(familyGroups(repo.candidates), row, 'done')}</section>`,
  );
  if (held.candidates > 0) {
    sections.push(
      `<p class="note">${escapeHtml(`${held.candidates.toLocaleString('en-US')} more candidates are not listed on this page, which lists ${countOf(listed).toLocaleString('en-US')}; the totals above count them.`)}</p>`,
    );
  }
  const unlisted = [...approved].filter((key) => !seen.has(key));
  const heading = running ? 'Deleting the approved images' : 'Approved deletions applied';
  const parts = [
    `<header><h1>${escapeHtml(`${heading}: ${planTitle(view)}`)}</h1>`,
    `<p class="total">${escapeHtml(countsText(counts, deletedBytes))}</p>`,
    running ? `<p class="note">${runningNote(view)}</p>` : '',
    `${approvalText(view)}</header>`,
    ...sections,
    unlistedList(unlisted, view, running),
    ignoredList(view.approval?.ignored ?? [], view.approval?.ignoredCount),
  ];
  return htmlDocument(
    `${heading}: ${planTitle(view)} — registry-janitor`,
    `<main>${parts.join('\n')}</main>`,
  );
}

/** The outcome text exactly as the contract words it. */
function outcomeShown(approved: boolean, outcome: ImageOutcome | undefined, running: boolean): Shown {
  if (!approved) return { cls: 'kept', text: 'kept (not approved)' };
  if (outcome === undefined) {
    return running ? { cls: 'pending', text: 'pending' } : { cls: 'unknown', text: 'no outcome recorded' };
  }
  if (outcome.status === 'deleted') return { cls: 'deleted', text: 'deleted' };
  if (outcome.status === 'skipped') return { cls: 'skipped', text: `skipped: ${outcome.reason}` };
  return { cls: 'failed', text: `failed: ${outcome.error}` };
}

function countsText(counts: ReadonlyMap<string, number>, deletedBytes: number): string {
  const deleted = counts.get('deleted') ?? 0;
  const parts = [`${plural(deleted, 'image')} deleted (${formatBytes(deletedBytes)})`];
  const named: [string, string][] = [
    ['pending', 'pending'],
    ['skipped', 'skipped'],
    ['failed', 'failed'],
    ['unknown', 'with no outcome recorded'],
    ['kept', 'kept (not approved)'],
  ];
  for (const [cls, words] of named) {
    const count = counts.get(cls) ?? 0;
    if (count > 0) parts.push(`${count} ${words}`);
  }
  return parts.join(', ');
}

function runningNote(view: ReviewView): string {
  const note =
    'The deletion is running: images marked pending are not done yet. Reload this page to see their outcomes';
  const reviewPath = view.approvePath.replace(/\/approve$/, '');
  const samePath = reviewPath !== view.approvePath && /^\/(?![/\\])/.test(reviewPath);
  if (!samePath) return `${escapeHtml(note)}.`;
  const query = `?exp=${encodeURIComponent(view.exp)}&sig=${encodeURIComponent(view.sig)}`;
  return `${escapeHtml(note)}: <a href="${escapeHtml(reviewPath + query)}">reload</a>.`;
}

function approvalText(view: ReviewView): string {
  const approval = view.approval;
  if (approval === undefined) return '<p class="who">Who approved this plan was not recorded.</p>';
  const from = approval.sourceIp ?? 'an unknown address';
  const agent = approval.userAgent === undefined ? '' : `, user agent “${approval.userAgent}”`;
  const text = `Approved ${utcText(approval.approvedAt)} (${ago(approval.approvedAt, view.now)}) from ${from}${agent}.`;
  return `<p class="who">${escapeHtml(text)}</p>`;
}

/** Approved keys that are no candidate of the plan any more (should not happen): shown, not hidden. */
function unlistedList(keys: readonly string[], view: ReviewView, running: boolean): string {
  if (keys.length === 0) return '';
  const items = keys.slice(0, MAX_LISTED_KEYS).map((key) => {
    const shown = outcomeShown(true, view.outcomes?.get(key), running);
    return `<li><span class="outcome ${shown.cls}">${escapeHtml(shown.text)}</span> <code>${escapeHtml(key)}</code></li>`;
  });
  return `<h2>Approved, not listed with the plan's candidates</h2><ul class="plain">${items.join('')}${moreText(keys.length)}</ul>`;
}

/** Entries of the approved-but-unlisted and ignored lists shown; the headings count them all. */
const MAX_LISTED_KEYS = 1000;

function ignoredList(ignored: readonly string[], count = ignored.length): string {
  if (count === 0) return '';
  const items = ignored
    .slice(0, MAX_LISTED_KEYS)
    .map((key) => `<li><code>${escapeHtml(key)}</code></li>`)
    .join('');
  return `<h2>Not candidates of this plan (or not offered on its page), ignored: ${count.toLocaleString('en-US')}</h2><ul class="plain">${items}${moreText(count)}</ul>`;
}

const moreText = (count: number) =>
  count > MAX_LISTED_KEYS ? `<li>… and ${(count - MAX_LISTED_KEYS).toLocaleString('en-US')} more</li>` : '';

function renderScanning(view: ReviewView): string {
  const body = [
    `<h1>Scan in progress: ${escapeHtml(planTitle(view))}</h1>`,
    `<p>The scan started ${escapeHtml(whenText(view.createdAt, view.now))} and has not finished yet.</p>`,
    '<p class="note">Nothing is proposed and nothing is deleted yet. Reload this page in a minute to review the plan.</p>',
  ].join('\n');
  return htmlDocument(`Scan in progress: ${planTitle(view)} — registry-janitor`, `<main>${body}</main>`);
}

function renderFailed(view: ReviewView): string {
  const body = [
    `<h1>Scan failed: ${escapeHtml(planTitle(view))}</h1>`,
    `<pre class="error">${escapeHtml(view.error ?? 'No error was recorded.')}</pre>`,
    '<p class="note">Nothing was proposed and nothing will be deleted from this plan.</p>',
  ].join('\n');
  return htmlDocument(`Scan failed: ${planTitle(view)} — registry-janitor`, `<main>${body}</main>`);
}
