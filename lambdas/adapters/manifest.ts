import * as z from 'zod';
import type { IndexChild } from '../core/model';

const descriptor = z.object({
  mediaType: z.string().optional(),
  digest: z.string(),
  platform: z.object({ os: z.string().optional(), architecture: z.string().optional() }).loose().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const indexManifest = z.object({
  manifests: z.array(descriptor),
  annotations: z.record(z.string(), z.string()).optional(),
  subject: z.object({ digest: z.string() }).loose().optional(),
});

/** What the planner needs from an index manifest. */
export interface IndexContent {
  readonly children: readonly IndexChild[];
  readonly subject?: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * Reads the children of an image index / manifest list. BuildKit attestation manifests
 * (`vnd.docker.reference.type: attestation-manifest`, platform `unknown/unknown`) are marked.
 * Throws with the reason when the text is not an index.
 */
export function parseIndexManifest(text: string): IndexContent {
  const parsed = indexManifest.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`not an image index: ${parsed.error.issues[0]?.message ?? 'unexpected shape'}`);
  }
  const children = parsed.data.manifests.map((entry): IndexChild => {
    const attestation =
      entry.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
      (entry.platform?.os === 'unknown' && entry.platform.architecture === 'unknown');
    return attestation ? { digest: entry.digest, attestation } : { digest: entry.digest };
  });
  return {
    children,
    ...(parsed.data.subject ? { subject: parsed.data.subject.digest } : {}),
    annotations: parsed.data.annotations ?? {},
  };
}
