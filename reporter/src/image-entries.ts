/**
 * The image entries of one report, deduplicated. An entry without `imageID` is left out when an
 * entry with the same image, namespace and workload carries one: the ingest derives the same tag
 * sighting from both, and the one with an `imageID` adds the digest.
 */

/** One entry of an ingest body's `images` (DESIGN.md, Ingest contract); keys in the body's order. */
export interface ImageEntry {
  readonly image: string;
  readonly imageID?: string;
  readonly namespace: string;
  readonly workload: string;
}

interface Slot {
  readonly image: string;
  readonly namespace: string;
  readonly workload: string;
  readonly imageIDs: Set<string>;
}

/** Collects entries as they are listed; memory grows with distinct entries, not with pods. */
export class EntrySet {
  private readonly slots = new Map<string, Slot>();

  add(entry: ImageEntry): void {
    const key = `${entry.namespace}\u0000${entry.workload}\u0000${entry.image}`;
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = {
        image: entry.image,
        namespace: entry.namespace,
        workload: entry.workload,
        imageIDs: new Set(),
      };
      this.slots.set(key, slot);
    }
    if (entry.imageID !== undefined && entry.imageID !== '') slot.imageIDs.add(entry.imageID);
  }

  /** Every distinct entry, sorted by namespace, workload, image and imageID (stable bodies). */
  entries(): ImageEntry[] {
    const sorted = [...this.slots.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return sorted.flatMap(([, slot]) => {
      const base = { image: slot.image, namespace: slot.namespace, workload: slot.workload };
      if (slot.imageIDs.size === 0) return [base];
      return [...slot.imageIDs].sort().map((imageID) => ({
        image: slot.image,
        imageID,
        namespace: slot.namespace,
        workload: slot.workload,
      }));
    });
  }
}
