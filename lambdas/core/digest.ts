import { cutText, type RepositorySummary } from './plan-summary';
import { ago, formatUtc, plural } from './time-text';
import { formatBytes, monthlyStorageCost } from './units';

/** What a digest tells: one plan, summarised, and the signed link to review it. */
export interface DigestInput {
  readonly planId: string;
  readonly createdAt: Date;
  readonly repositories: readonly RepositorySummary[];
  readonly reviewUrl: string;
  readonly linkExpiresAt: Date;
  readonly now: Date;
}

export interface RenderedDigest {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Nothing to delete, nothing blocked, nothing failed. */
  readonly allClean: boolean;
}

/** SNS allows 100 characters of subject. */
export const MAX_SUBJECT_CHARS = 100;
/** SNS allows 256 KiB a message; keep room for the envelope. */
export const MAX_MESSAGE_BYTES = 240 * 1024;

/**
 * Renders the e-mail digest of a plan as text and HTML. Repositories are listed largest first;
 * when the text would pass `maxBytes`, the rest are summarised in one line, never cut mid-way,
 * and the review link stays at the top and the bottom.
 *
 * @example
 * renderDigest(input).subject // 'registry-janitor: 412 images, 38.2 GiB to review'
 */
export function renderDigest(input: DigestInput, maxBytes = MAX_MESSAGE_BYTES): RenderedDigest {
  const withCandidates = input.repositories.filter((repo) => repo.candidates > 0);
  const count = sum(withCandidates, (repo) => repo.candidates);
  const bytes = sum(withCandidates, (repo) => repo.candidateBytes);
  const blocked = input.repositories.filter((repo) => repo.blockedBy.length > 0);
  const failed = input.repositories.filter((repo) => repo.error !== undefined);
  const allClean = count === 0 && blocked.length === 0 && failed.length === 0;
  const subject = subjectOf(count, bytes, blocked.length + failed.length);
  const head = headLines(input, count, bytes);
  const tail = [...problemLines(blocked, failed, input.now), '', `Review and approve: ${input.reviewUrl}`];
  const budget = maxBytes - utf8Length([...head, ...tail].join('\n')) - 200;
  const body = repositoryLines(
    [...withCandidates].sort((a, b) => b.candidateBytes - a.candidateBytes),
    budget,
  );
  const lines = [...head, ...body, ...tail];
  return { subject, text: `${lines.join('\n')}\n`, html: toHtml(lines, input.reviewUrl), allClean };
}

function subjectOf(count: number, bytes: number, problems: number): string {
  const main =
    count === 0 ? 'nothing to delete' : `${plural(count, 'image')}, ${formatBytes(bytes)} to review`;
  const extra = problems === 0 ? '' : `, ${plural(problems, 'repository', 'to check')}`;
  return `registry-janitor: ${main}${extra}`.slice(0, MAX_SUBJECT_CHARS);
}

function headLines(input: DigestInput, count: number, bytes: number): string[] {
  const lines = [`registry-janitor scan of ${formatUtc(input.createdAt)} UTC (plan ${input.planId})`, ''];
  if (count === 0) lines.push('Nothing can be deleted safely right now.');
  else {
    lines.push(
      `${plural(count, 'image')} (${formatBytes(bytes)}) can be deleted: up to ${monthlyStorageCost(bytes)} a month of ECR storage.`,
      `Review and approve: ${input.reviewUrl}`,
      `The link expires ${formatUtc(input.linkExpiresAt)} UTC. Nothing is deleted until someone approves.`,
    );
  }
  return lines;
}

function repositoryLines(repositories: readonly RepositorySummary[], budget: number): string[] {
  if (repositories.length === 0) return [];
  const lines = ['', 'By repository'];
  let used = utf8Length(lines.join('\n'));
  for (const [index, repo] of repositories.entries()) {
    const block = [
      `  ${repo.repository}: ${plural(repo.candidates, 'image')}, ${formatBytes(repo.candidateBytes)} of ${repo.totalImages}`,
      ...repo.topReasons.map((reason) => `      ${reason.count} × ${reason.reason}`),
    ];
    const others = repo.candidates - sum(repo.topReasons, (reason) => reason.count);
    if (others > 0) block.push(`      ${others} × other reasons: see the review page`);
    const size = utf8Length(block.join('\n')) + 1;
    if (used + size > budget) {
      const rest = repositories.slice(index);
      const restImages = plural(
        sum(rest, (r) => r.candidates),
        'image',
      );
      const restBytes = formatBytes(sum(rest, (r) => r.candidateBytes));
      lines.push(
        `  … and ${plural(rest.length, 'more repository')} with ${restImages} (${restBytes}): see the review page`,
      );
      break;
    }
    lines.push(...block);
    used += size;
  }
  return lines;
}

/** Lines a problem section lists before summarising the rest (the message must fit SNS's limit). */
const MAX_PROBLEM_LINES = 50;
/** Characters of a repository's error shown in the digest. */
const MAX_ERROR_CHARS = 300;

function problemLines(
  blocked: readonly RepositorySummary[],
  failed: readonly RepositorySummary[],
  now: Date,
): string[] {
  const lines: string[] = [];
  if (blocked.length > 0) {
    lines.push('', 'Blocked: no deletion proposed while a cluster is silent');
    const stale = blocked.flatMap((repo) =>
      repo.blockedBy.map((cluster) =>
        cluster.incomplete
          ? `  ${repo.repository}: cluster ${cluster.cluster} sent no whole report yet, only an unfinished one (${formatUtc(cluster.lastReportAt)} UTC, ${ago(cluster.lastReportAt, now)}).`
          : `  ${repo.repository}: cluster ${cluster.cluster} last reported ${formatUtc(cluster.lastReportAt)} UTC (${ago(cluster.lastReportAt, now)})${cluster.lastPartAt ? `; a part of a newer report arrived ${ago(cluster.lastPartAt, now)}, the rest did not: some of its bodies are lost` : ''}.`,
      ),
    );
    lines.push(...atMost(stale));
    lines.push(
      '  Check the reporter in that cluster (kubectl -n registry-janitor get cronjobs,jobs; its logs), its key and the endpoint.',
    );
  }
  if (failed.length > 0) {
    lines.push('', 'Could not be scanned (nothing in them is proposed)');
    const errors = failed.map((repo) => `  ${repo.repository}: ${shortened(repo.error ?? '')}`);
    lines.push(...atMost(errors));
  }
  return lines;
}

/** The first `MAX_PROBLEM_LINES` lines, then one line counting the rest. */
function atMost(lines: readonly string[]): string[] {
  if (lines.length <= MAX_PROBLEM_LINES) return [...lines];
  const rest = (lines.length - MAX_PROBLEM_LINES).toLocaleString('en-US');
  return [...lines.slice(0, MAX_PROBLEM_LINES), `  … and ${rest} more: see the review page`];
}

// Never cut inside a surrogate pair: half a character makes SNS's request encoding throw.
const shortened = (text: string) =>
  text.length > MAX_ERROR_CHARS ? `${cutText(text, MAX_ERROR_CHARS)}…` : text;

function toHtml(lines: readonly string[], reviewUrl: string): string {
  const link = escapeHtml(reviewUrl);
  const body = lines
    .map((line) => escapeHtml(line).replace(link, `<a href="${link}">${link}</a>`))
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>registry-janitor</title></head><body><pre style="font:14px/1.4 monospace;white-space:pre-wrap">${body}</pre></body></html>`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}

/** UTF-8 length of a string, without TextEncoder (the core has no runtime globals). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}
