import { escapeHtml } from './digest';
import type { ClusterReport } from './model';
import { htmlDocument } from './review-page-parts';
import type { ImageOutcome } from './review-view';
import type { PlanRecord } from './stores';
import { ago, formatUtc, HOUR_MS, plural } from './time-text';
import { formatBytes } from './units';

/** What the local dashboard shows. */
export interface DashboardView {
  readonly now: Date;
  /** The registry `serve` scans: an AWS region or a registry host. */
  readonly registryLabel: string;
  /** Where this dashboard is served, e.g. `http://127.0.0.1:8787`. */
  readonly baseUrl: string;
  readonly schedule: string;
  readonly nextScanAt?: Date;
  readonly staleAfterHours: number;
  readonly clusters: readonly ClusterReport[];
  readonly plans: readonly {
    readonly record: PlanRecord;
    /** The signed review link; left out when the dashboard is reachable from the network. */
    readonly reviewUrl?: string;
    readonly outcomes?: ReadonlyMap<string, ImageOutcome>;
    /** Repositories of the plan that could not be scanned: nothing in them is proposed. */
    readonly unscanned?: readonly string[];
    /** Repositories of the plan where a silent cluster blocks every deletion. */
    readonly blocked?: readonly string[];
  }[];
}

/**
 * The `serve` dashboard: clusters and their last report (stale ones marked), the last scans, and
 * each plan with its counts, bytes, review link and outcome. Server-rendered, no external assets.
 */
export function renderDashboard(view: DashboardView): string {
  const body = [
    '<h1>registry-janitor</h1>',
    `<p class="note">Registry: <code>${escapeHtml(view.registryLabel)}</code>. Scans run on <code>${escapeHtml(view.schedule)}</code> (UTC)${
      view.nextScanAt ? `, next ${formatUtc(view.nextScanAt)} UTC` : ''
    }. Scan now with <code>curl -X POST ${escapeHtml(view.baseUrl)}/v1/scans</code>.</p>`,
    clustersSection(view),
    plansSection(view),
  ].join('\n');
  return htmlDocument('registry-janitor', body);
}

function clustersSection(view: DashboardView): string {
  if (view.clusters.length === 0) {
    return '<section class="repo"><h2>Clusters</h2><p class="note">No cluster has reported yet. Install the reporter (see the README) and give it a key from <code>registry-janitor cluster-key NAME</code>.</p></section>';
  }
  const limit = view.now.getTime() - view.staleAfterHours * HOUR_MS;
  const rows = [...view.clusters]
    .sort((a, b) => a.cluster.localeCompare(b.cluster))
    .map((report) => {
      const stale = report.incomplete === true || report.lastReportAt.getTime() < limit;
      const when = `${formatUtc(report.lastReportAt)} UTC (${ago(report.lastReportAt, view.now)})`;
      const why = report.incomplete
        ? 'no whole report yet: one began and did not finish (a body lost, or a failed write)'
        : `limit ${plural(view.staleAfterHours, 'hour')}`;
      const flag = stale
        ? ` <span class="outcome failed">stale: deletions in its repositories are blocked (${why})</span>`
        : '';
      const partly = report.lastPartAt
        ? `; a part of a newer one ${ago(report.lastPartAt, view.now)}, the rest has not arrived`
        : '';
      const meta = report.incomplete ? `an unfinished report ${when}` : `last report ${when}${partly}`;
      return `<li class="${stale ? 'problem' : ''}"><span class="name">${escapeHtml(report.cluster)}</span> <span class="meta">${meta}</span>${flag}</li>`;
    });
  return `<section class="repo"><h2>Clusters</h2><ul class="plain">${rows.join('')}</ul></section>`;
}

function plansSection(view: DashboardView): string {
  if (view.plans.length === 0)
    return '<section class="repo"><h2>Scans</h2><p class="note">No scan yet.</p></section>';
  const rows = view.plans.map(({ record, reviewUrl, outcomes, unscanned = [], blocked = [] }) => {
    const counts =
      record.candidates === undefined
        ? ''
        : ` — ${plural(record.candidates, 'candidate')}, ${formatBytes(record.candidateBytes ?? 0)}`;
    const error = record.error === undefined ? '' : `<span class="reason">${escapeHtml(record.error)}</span>`;
    // A plan of 0 candidates is not clean when repositories could not be read or are blocked.
    const problems = [
      unscanned.length > 0
        ? `${plural(unscanned.length, 'repository')} could not be scanned (${namesOf(unscanned)})`
        : '',
      blocked.length > 0
        ? `${plural(blocked.length, 'repository')} blocked by a silent cluster (${namesOf(blocked)})`
        : '',
    ].filter((text) => text !== '');
    const warning =
      problems.length === 0 ? '' : ` <span class="outcome failed">${escapeHtml(problems.join('; '))}</span>`;
    const link =
      record.status === 'FAILED' || reviewUrl === undefined
        ? ''
        : ` <a href="${escapeHtml(reviewUrl)}">review</a>`;
    return `<li><span class="name">${escapeHtml(record.id)}</span> <span class="outcome ${statusClass(record)}">${record.status.toLowerCase()}</span><span class="meta">${formatUtc(record.createdAt)} UTC (${ago(record.createdAt, view.now)})${counts}${outcomeText(outcomes)}</span>${warning}${error}${link}</li>`;
  });
  return `<section class="repo"><h2>Scans</h2><ul class="images">${rows.join('')}</ul></section>`;
}

/** The first few names, and how many more. */
function namesOf(names: readonly string[]): string {
  const shown = names.slice(0, 3).join(', ');
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown;
}

function statusClass(record: PlanRecord): string {
  if (record.status === 'FAILED') return 'failed';
  if (record.status === 'APPLIED') return 'deleted';
  return record.status === 'PENDING' ? 'pending' : 'kept';
}

function outcomeText(outcomes: ReadonlyMap<string, ImageOutcome> | undefined): string {
  if (!outcomes || outcomes.size === 0) return '';
  const counts = { deleted: 0, skipped: 0, failed: 0 };
  for (const outcome of outcomes.values()) counts[outcome.status]++;
  return `; ${counts.deleted} deleted, ${counts.skipped} skipped, ${counts.failed} failed`;
}
