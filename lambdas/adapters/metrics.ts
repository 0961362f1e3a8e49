/**
 * CloudWatch metrics in the embedded metric format (EMF): one JSON line on stdout that Lambda's
 * log delivery turns into data points, no API call and no extra permission.
 */
export const METRICS_NAMESPACE = 'RegistryJanitor';
/** The metric the construct's silence alarms watch. */
export const CLUSTER_REPORT_METRIC = 'ClusterReport';

/** What a handler counts. */
export interface Metrics {
  /** One stored report from `cluster`, for the "no report for too long" alarms. */
  clusterReported(cluster: string): void;
}

/**
 * EMF metrics for a Lambda function: `ClusterReport` = 1 with dimensions `[FunctionName]` and
 * `[FunctionName, Cluster]` (the construct's alarms match exactly these).
 */
export function emfMetrics(
  functionName: string,
  write: (line: string) => void = (line) => process.stdout.write(line),
): Metrics {
  return {
    clusterReported(cluster) {
      const line = {
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [['FunctionName'], ['FunctionName', 'Cluster']],
              Metrics: [{ Name: CLUSTER_REPORT_METRIC, Unit: 'Count' }],
            },
          ],
        },
        FunctionName: functionName,
        Cluster: cluster,
        [CLUSTER_REPORT_METRIC]: 1,
      };
      write(`${JSON.stringify(line)}\n`);
    },
  };
}

/** Metrics that go nowhere (`serve`, tests that do not look). */
export const noMetrics: Metrics = { clusterReported: () => undefined };
