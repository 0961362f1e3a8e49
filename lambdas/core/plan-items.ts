import type { Families, FamilyMember, MemberRole } from './image-family';
import type { RegistryImage } from './model';
import type { Decision, PlanItem } from './plan';
import { shortDigest } from './time-text';

/** A decision and its one human reason; shared by every item decided alike. */
export interface Decided {
  readonly decision: Decision;
  readonly reason: string;
}

/**
 * The items of one repository: each root with its own decision, newest first (`order[k]` is the
 * index in `families.roots` of the k-th newest, and `decisions[k]` its decision), followed by the
 * members below it. A member follows its root; a member shared by several families is listed
 * once, with the first family that has it, and deleted only when every family that has it is
 * deleted.
 */
export function itemsOf(
  families: Families,
  order: ArrayLike<number>,
  decisions: readonly Decided[],
): PlanItem[] {
  const sharing: Sharing | undefined =
    families.shared.size === 0
      ? undefined
      : { shared: families.shared, keptBy: keepers(families, order, decisions), emitted: new Set() };
  const rootItems = rootItemsInListingOrder(families, order, decisions);
  const items: PlanItem[] = [];
  for (let k = 0; k < order.length; k++) {
    const at = order[k]!;
    items.push(rootItems[at]!);
    const below = families.belowAt(at);
    if (below.length > 0) pushMembers(items, families.roots[at]!, below, decisions[k]!, sharing);
  }
  return items;
}

/**
 * Each root's item, by the root's index in `families.roots`. Made in that order, which is the
 * order the images lie in memory: copying them newest first would read them in random order.
 */
function rootItemsInListingOrder(
  families: Families,
  order: ArrayLike<number>,
  decisions: readonly Decided[],
): PlanItem[] {
  const rank = new Int32Array(order.length);
  for (let k = 0; k < order.length; k++) rank[order[k]!] = k;
  const { roots } = families;
  const items: PlanItem[] = new Array(roots.length);
  for (let i = 0; i < roots.length; i++) {
    const root = roots[i]!;
    items[i] = toItem(root, 'root', root.digest, families.referencesAt(i), decisions[rank[i]!]!);
  }
  return items;
}

/** Members below several roots: who keeps each, and which are already listed. */
interface Sharing {
  readonly shared: ReadonlySet<RegistryImage>;
  /** Shared member → the root digest of the first kept family (newest first) that has it. */
  readonly keptBy: ReadonlyMap<RegistryImage, string>;
  readonly emitted: Set<RegistryImage>;
}

function keepers(
  families: Families,
  order: ArrayLike<number>,
  decisions: readonly Decided[],
): Map<RegistryImage, string> {
  const keptBy = new Map<RegistryImage, string>();
  for (let k = 0; k < order.length; k++) {
    if (decisions[k]!.decision !== 'keep') continue;
    const root = families.roots[order[k]!]!;
    // A root is in `shared` only when a reference cycle also puts it below other roots.
    if (families.shared.has(root) && !keptBy.has(root)) keptBy.set(root, root.digest);
    for (const { image } of families.belowAt(order[k]!)) {
      if (families.shared.has(image) && !keptBy.has(image)) keptBy.set(image, root.digest);
    }
  }
  return keptBy;
}

/** The members of one family after its root; those in this family only share one decision per role. */
function pushMembers(
  items: PlanItem[],
  root: RegistryImage,
  below: readonly FamilyMember[],
  own: Decided,
  sharing: Sharing | undefined,
): void {
  const byRole: { child?: Decided; referrer?: Decided } = {};
  for (const member of below) {
    const { image, role } = member;
    let decided: Decided;
    if (sharing?.shared.has(image)) {
      if (sharing.emitted.has(image)) continue;
      sharing.emitted.add(image);
      const keeper = sharing.keptBy.get(image);
      decided = memberDecision(role, root, keeper, own.decision === 'delete' && keeper === undefined);
    } else {
      const keeper = own.decision === 'keep' ? root.digest : undefined;
      decided = byRole[role] ??= memberDecision(role, root, keeper, own.decision === 'delete');
    }
    items.push(toItem(image, role, root.digest, member.references, decided));
  }
}

function memberDecision(
  role: MemberRole,
  root: RegistryImage,
  keeper: string | undefined,
  deleted: boolean,
): Decided {
  const what = role === 'child' ? 'part of' : 'referrer of';
  const rootText = `${shortDigest(root.digest)} [${root.tags.join(', ')}]`;
  if (deleted) return { decision: 'delete', reason: `delete: ${what} ${rootText}, deleted with it` };
  if (keeper === undefined || keeper === root.digest) {
    return { decision: 'keep', reason: `kept: ${what} ${rootText}, which is kept` };
  }
  return { decision: 'keep', reason: `kept: also belongs to ${shortDigest(keeper)}, which is kept` };
}

function toItem(
  image: RegistryImage,
  role: MemberRole,
  root: string,
  references: readonly string[],
  decided: Decided,
): PlanItem {
  const { pushedAtSource, mediaType } = image;
  if (pushedAtSource !== undefined && mediaType !== undefined) {
    // The usual listing: every property in one literal, so that the item is allocated whole.
    return {
      repository: image.repository,
      digest: image.digest,
      tags: image.tags,
      pushedAt: image.pushedAt,
      sizeBytes: image.sizeBytes,
      role,
      root,
      references,
      decision: decided.decision,
      reason: decided.reason,
      pushedAtSource,
      mediaType,
    };
  }
  const item: { -readonly [K in keyof PlanItem]: PlanItem[K] } = {
    repository: image.repository,
    digest: image.digest,
    tags: image.tags,
    pushedAt: image.pushedAt,
    sizeBytes: image.sizeBytes,
    role,
    root,
    references,
    decision: decided.decision,
    reason: decided.reason,
  };
  if (pushedAtSource !== undefined) item.pushedAtSource = pushedAtSource;
  if (mediaType !== undefined) item.mediaType = mediaType;
  return item;
}
