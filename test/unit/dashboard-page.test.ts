import { renderDashboard } from '../../lambdas/core/dashboard-page';
import type { PlanRecord } from '../../lambdas/core/stores';

const NOW = new Date('2026-11-22T12:00:00Z');
const record: PlanRecord = {
  id: 'scan-20261122T0600Z',
  createdAt: new Date('2026-11-22T06:00:00Z'),
  status: 'PENDING',
  totalRepositories: 3,
  linkExp: 1764396000,
  policyHash: 'x',
  candidates: 12,
  candidateBytes: 3 * 1024 ** 3,
};

const view = (reviewUrl?: string) => ({
  now: NOW,
  registryLabel: 'eu-west-1',
  baseUrl: 'http://127.0.0.1:8787',
  schedule: '0 6,18 * * *',
  staleAfterHours: 6,
  clusters: [
    { cluster: 'prod<eu>', lastReportAt: new Date('2026-11-22T11:55:00Z') },
    { cluster: 'edge', lastReportAt: new Date('2026-11-22T01:00:00Z') },
  ],
  plans: [{ record, ...(reviewUrl ? { reviewUrl } : {}) }],
});

describe('renderDashboard', () => {
  it('lists clusters (stale ones marked) and scans with counts and their review link', () => {
    const html = renderDashboard(view('http://127.0.0.1:8787/v1/plans/scan-20261122T0600Z?exp=1&sig=a'));
    expect(html).toContain('prod&#60;eu&#62;');
    expect(html).toMatch(
      /edge<\/span> <span class="meta">last report 2026-11-22 01:00:00 UTC \(11 hours ago\)<\/span> <span class="outcome failed">stale/,
    );
    expect(html).not.toMatch(
      /prod&#60;eu&#62;<\/span> <span class="meta">[^<]*<\/span> <span class="outcome failed">stale/,
    );
    expect(html).toContain('12 candidates, 3.0 GiB');
    expect(html).toContain(
      '<a href="http://127.0.0.1:8787/v1/plans/scan-20261122T0600Z?exp=1&#38;sig=a">review</a>',
    );
  });

  it('marks a cluster that sent only parts of reports stale, however recent the parts', () => {
    const html = renderDashboard({
      ...view(),
      clusters: [{ cluster: 'edge', lastReportAt: new Date('2026-11-22T11:59:00Z'), incomplete: true }],
    });
    expect(html).toContain(
      'edge</span> <span class="meta">an unfinished report 2026-11-22 11:59:00 UTC (1 minute ago)</span> <span class="outcome failed">stale: deletions in its repositories are blocked (no whole report yet: one began and did not finish (a body lost, or a failed write))</span>',
    );
  });

  it('says when a part of a newer report arrived: the cluster is not silent, some of its bodies are lost', () => {
    const html = renderDashboard({
      ...view(),
      clusters: [
        {
          cluster: 'edge',
          lastReportAt: new Date('2026-11-22T01:00:00Z'),
          lastPartAt: new Date('2026-11-22T11:58:00Z'),
        },
      ],
    });
    expect(html).toContain(
      'last report 2026-11-22 01:00:00 UTC (11 hours ago); a part of a newer one 2 minutes ago, the rest has not arrived</span> <span class="outcome failed">stale',
    );
  });

  it('says when repositories of a plan could not be scanned or are blocked: 0 candidates is not clean then', () => {
    // Prepare
    const failed = { ...record, candidates: 0, candidateBytes: 0 };
    const input = {
      ...view(),
      plans: [{ record: failed, unscanned: ['a<b>', 'b', 'c', 'd'], blocked: ['web'] }],
    };

    // Act
    const html = renderDashboard(input);

    // Assess
    expect(html).toContain(
      '0 candidates, 0 B</span> <span class="outcome failed">4 repositories could not be scanned (a&#60;b&#62;, b, c and 1 more); 1 repository blocked by a silent cluster (web)</span>',
    );
    expect(renderDashboard(view())).not.toContain('could not be scanned');
  });

  it('leaves out review links when it is given none (a dashboard reachable from the network)', () => {
    const html = renderDashboard(view());
    expect(html).not.toContain('<a href');
    expect(html).toContain('scan-20261122T0600Z');
  });
});
