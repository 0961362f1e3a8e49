/**
 * The longest context the ingest keeps with a sighting (see `MAX_REFERENCE` in image-ref.ts for
 * `image` and `imageID`): a namespace (Kubernetes allows 253 characters) and a workload
 * (`Kind/name`). A longer one is left out of the sighting; the reporter cuts it before sending.
 * Apart from report.ts so that the reporter's bundle does not carry the body schema.
 */
export const MAX_NAMESPACE = 253;
export const MAX_WORKLOAD = 512;

/** The most bodies one report may take (`round.parts`): 10,000 bodies of 1 MiB. */
export const MAX_ROUND_PARTS = 10_000;
