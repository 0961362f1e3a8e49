/**
 * Validating a parsed Amazon ECR lifecycle-policy document, the way ECR checks it before it accepts a
 * policy (AWS ECR user guide, "Lifecycle policy properties" and "Lifecycle policy evaluation rules").
 * Every problem is collected; a policy with any problem is never partially read.
 */
import type { LifecyclePolicy, LifecycleRule, LifecycleSelection } from './lifecycle-policy';

/** The outcome of validating a lifecycle policy: the policy, or every problem found in it. */
export type LifecyclePolicyReading =
  | { readonly ok: true; readonly policy: LifecyclePolicy }
  | { readonly ok: false; readonly problems: readonly string[] };

type Say = (problem: string) => void;
type JsonObject = Readonly<Record<string, unknown>>;
type TagFilter = Pick<LifecycleSelection, 'tagPrefixList' | 'tagPatternList'>;
type TagStatus = LifecycleSelection['tagStatus'];
type Count = Pick<LifecycleSelection, 'countType' | 'countUnit' | 'countNumber'>;

const UNSUPPORTED = 'registry-janitor does not support';
const ARCHIVE_HINT = 'remove this rule, or leave it to ECR’s own lifecycle policy';
const MAX_WILDCARDS = 4;
const RULE_KEYS = ['rulePriority', 'description', 'selection', 'action'];
const TAG_LIST_KEYS = ['tagPrefixList', 'tagPatternList'] as const;
const SELECTION_KEYS = [
  'tagStatus',
  ...TAG_LIST_KEYS,
  'storageClass',
  'countType',
  'countUnit',
  'countNumber',
];
const TAG_STATUSES: readonly unknown[] = ['tagged', 'untagged', 'any'] satisfies TagStatus[];
const ARCHIVE_COUNT_TYPES: readonly string[] = ['sinceImagePulled', 'sinceImageTransitioned'];

/**
 * Validates a parsed lifecycle policy document (`{"rules": [...]}`) as ECR does, collecting every
 * problem; each names its rule (`rule 2 (rulePriority 20): ...`).
 *
 * @example
 * const reading = validateLifecyclePolicyDocument(JSON.parse(text));
 * if (!reading.ok) console.error(reading.problems.join('\n'));
 */
/** ECR's quotas, not adjustable: rules per lifecycle policy, and the policy text's length. */
const MAX_RULES = 50;
const MAX_POLICY_CHARACTERS = 30_720;

export function validateLifecyclePolicyDocument(document: unknown): LifecyclePolicyReading {
  if (!isObject(document)) {
    return { ok: false, problems: ['a lifecycle policy must be a JSON object with a "rules" list'] };
  }
  const problems: string[] = [];
  rejectUnknownKeys(document, ['rules'], 'policy.', (p) => problems.push(p));
  const rawRules = document.rules;
  if (!Array.isArray(rawRules) || rawRules.length === 0) {
    problems.push('"rules" must be a list of at least one rule');
    return { ok: false, problems };
  }
  if (rawRules.length > MAX_RULES) {
    problems.push(
      `a lifecycle policy holds at most ${MAX_RULES} rules (ECR's limit), this one ${rawRules.length}`,
    );
    return { ok: false, problems };
  }
  const length = JSON.stringify(document).length;
  if (length > MAX_POLICY_CHARACTERS) {
    problems.push(
      `a lifecycle policy is at most ${MAX_POLICY_CHARACTERS} characters (ECR's limit), this one ${length} even without spaces`,
    );
  }
  const labels = rawRules.map(ruleLabel);
  const rules = rawRules.map((raw, i) => validateRule(raw, (p) => problems.push(`${labels[i]}: ${p}`)));
  checkAcrossRules(rawRules, labels, (p) => problems.push(p));
  const valid = rules.filter((rule): rule is LifecycleRule => rule !== undefined);
  if (problems.length > 0 || valid.length !== rules.length) return { ok: false, problems };
  return { ok: true, policy: { rules: valid } };
}

function validateRule(raw: unknown, say: Say): LifecycleRule | undefined {
  if (!isObject(raw)) {
    say('must be an object with rulePriority, selection and action');
    return undefined;
  }
  rejectUnknownKeys(raw, RULE_KEYS, '', say);
  const rulePriority = readPositiveInteger(raw.rulePriority, 'rulePriority', say);
  const description = raw.description;
  if (description !== undefined && typeof description !== 'string') say('description must be a string');
  const selection = validateSelection(raw.selection, say);
  const actionOk = validateAction(raw.action, say);
  if (rulePriority === undefined || selection === undefined || !actionOk) return undefined;
  return {
    rulePriority,
    ...(typeof description === 'string' ? { description } : {}),
    selection,
    action: { type: 'expire' },
  };
}

function validateSelection(raw: unknown, say: Say): LifecycleSelection | undefined {
  if (!isObject(raw)) {
    say('selection is required and must be an object');
    return undefined;
  }
  rejectUnknownKeys(raw, SELECTION_KEYS, 'selection.', say);
  const tagStatus = raw.tagStatus;
  if (tagStatus === undefined) say("selection.tagStatus is required: 'tagged', 'untagged' or 'any'");
  else if (!isTagStatus(tagStatus)) {
    say(`selection.tagStatus must be 'tagged', 'untagged' or 'any', got ${show(tagStatus)}`);
  }
  const tagFilter = isTagStatus(tagStatus) ? validateTagFilter(raw, tagStatus, say) : undefined;
  const storageOk = validateStorageClass(raw.storageClass, say);
  const count = validateCount(raw, say);
  const ok = isTagStatus(tagStatus) && tagFilter !== undefined && count !== undefined && storageOk;
  return ok ? { tagStatus, ...tagFilter, ...count } : undefined;
}

function validateTagFilter(raw: JsonObject, tagStatus: TagStatus, say: Say): TagFilter | undefined {
  const hasPrefixes = raw.tagPrefixList !== undefined;
  const hasPatterns = raw.tagPatternList !== undefined;
  if (tagStatus !== 'tagged') {
    for (const key of TAG_LIST_KEYS.filter((k) => raw[k] !== undefined)) {
      say(`selection.${key} is only allowed with tagStatus 'tagged', not '${tagStatus}'`);
    }
    return hasPrefixes || hasPatterns ? undefined : {};
  }
  if (hasPrefixes && hasPatterns) {
    say('selection.tagPrefixList and selection.tagPatternList cannot both be given: use one of them');
    return undefined;
  }
  if (!hasPrefixes && !hasPatterns) {
    say("tagStatus 'tagged' needs a selection.tagPatternList or a selection.tagPrefixList");
    return undefined;
  }
  const name = hasPrefixes ? 'tagPrefixList' : 'tagPatternList';
  const list = readStringList(raw[name], `selection.${name}`, say);
  if (list === undefined) return undefined;
  if (hasPrefixes) return { tagPrefixList: list };
  const tooWild = list.filter((pattern) => countWildcards(pattern) > MAX_WILDCARDS);
  for (const pattern of tooWild) {
    const found = countWildcards(pattern);
    say(
      `selection.tagPatternList '${pattern}' has ${found} wildcards (*); at most ${MAX_WILDCARDS} are allowed`,
    );
  }
  return tooWild.length > 0 ? undefined : { tagPatternList: list };
}

function validateStorageClass(raw: unknown, say: Say): boolean {
  if (raw === undefined || raw === 'standard') return true;
  if (raw === 'archive') {
    say(`${UNSUPPORTED} selection.storageClass 'archive' (ECR archive storage); ${ARCHIVE_HINT}`);
  } else {
    say(`selection.storageClass must be 'standard' (or left out), got ${show(raw)}`);
  }
  return false;
}

function validateCount(raw: JsonObject, say: Say): Count | undefined {
  const { countType, countUnit } = raw;
  const countNumber = readPositiveInteger(raw.countNumber, 'selection.countNumber', say);
  if (countType === 'imageCountMoreThan') {
    if (countUnit !== undefined) {
      say("selection.countUnit is only allowed with countType 'sinceImagePushed': remove it");
      return undefined;
    }
    return countNumber === undefined ? undefined : { countType, countNumber };
  }
  if (countType === 'sinceImagePushed') {
    if (countUnit === undefined) {
      say(`selection.countUnit is required with countType 'sinceImagePushed': add "countUnit": "days"`);
    } else if (countUnit !== 'days') say(`selection.countUnit must be 'days', got ${show(countUnit)}`);
    if (countUnit !== 'days' || countNumber === undefined) return undefined;
    return { countType, countUnit, countNumber };
  }
  if (typeof countType === 'string' && ARCHIVE_COUNT_TYPES.includes(countType)) {
    say(`${UNSUPPORTED} countType '${countType}' (ECR archive storage); ${ARCHIVE_HINT}`);
  } else if (countType === undefined) {
    say("selection.countType is required: 'imageCountMoreThan' or 'sinceImagePushed'");
  } else {
    say(`selection.countType must be 'imageCountMoreThan' or 'sinceImagePushed', got ${show(countType)}`);
  }
  return undefined;
}

function validateAction(raw: unknown, say: Say): boolean {
  if (!isObject(raw)) {
    say('action is required and must be {"type": "expire"}');
    return false;
  }
  rejectUnknownKeys(raw, ['type', 'targetStorageClass'], 'action.', say);
  if (raw.type === 'transition') {
    say(`${UNSUPPORTED} action.type 'transition' (moving images to ECR archive storage); ${ARCHIVE_HINT}`);
    return false;
  }
  if (raw.type !== 'expire') {
    say(`action.type must be 'expire', got ${show(raw.type)}`);
    return false;
  }
  if (raw.targetStorageClass !== undefined) {
    say("action.targetStorageClass is only used with action.type 'transition': remove it");
    return false;
  }
  return true;
}

/** Checks that need all rules: unique priorities, `any` last, one untagged rule, unique tag lists. */
function checkAcrossRules(rawRules: readonly unknown[], labels: readonly string[], say: Say): void {
  const views = rawRules.map((raw, i) => ({ label: labels[i]!, ...(isObject(raw) ? ruleView(raw) : {}) }));
  for (const check of REPEAT_CHECKS) sayRepeats(views, check, say);
  const priorities = views.flatMap((v) => (v.priority === undefined ? [] : [v.priority]));
  const highest = priorities.reduce((most, priority) => Math.max(most, priority), Number.NEGATIVE_INFINITY);
  for (const view of views.filter((v) => v.tagStatus === 'any' && v.priority !== undefined)) {
    if (view.priority !== highest) {
      say(`${view.label}: a tagStatus 'any' rule must have the highest rulePriority (${highest} is higher)`);
    }
  }
}

/** Things at most one rule may have: a key per rule (or none) and the problem for a repeat. */
const REPEAT_CHECKS: readonly RepeatCheck[] = [
  {
    keyOf: (v) => v.priority?.toString(),
    problem: (key, first) => `rulePriority ${key} is already used by ${first}; priorities must be unique`,
  },
  {
    keyOf: (v) => (v.tagStatus === 'untagged' ? 'untagged' : undefined),
    problem: (_, first) => `only one rule may select untagged images, and ${first} already does`,
  },
  {
    // The 'any' rule is evaluated last (highest priority number): there can be one.
    keyOf: (v) => (v.tagStatus === 'any' ? 'any' : undefined),
    problem: (_, first) =>
      `only one rule may have tagStatus 'any' (it must come last), and ${first} already does`,
  },
  {
    keyOf: (v) => v.prefixKey,
    problem: (key, first) => `tagPrefixList [${key}] repeats ${first}; each set of prefixes must be unique`,
  },
  {
    keyOf: (v) => v.patternKey,
    problem: (key, first) => `tagPatternList [${key}] repeats ${first}; each set of patterns must be unique`,
  },
];

interface RepeatCheck {
  readonly keyOf: (view: RuleView) => string | undefined;
  readonly problem: (key: string, firstLabel: string) => string;
}

interface RuleView {
  readonly label: string;
  readonly priority?: number;
  readonly tagStatus?: unknown;
  readonly prefixKey?: string;
  readonly patternKey?: string;
}

function ruleView(raw: JsonObject): Omit<RuleView, 'label'> {
  const selection = isObject(raw.selection) ? raw.selection : {};
  const setKey = (list: unknown) =>
    Array.isArray(list) && list.every((s) => typeof s === 'string')
      ? [...new Set(list)].sort().join(', ')
      : undefined;
  const priority = isPositiveInteger(raw.rulePriority) ? raw.rulePriority : undefined;
  const prefixKey = setKey(selection.tagPrefixList);
  const patternKey = setKey(selection.tagPatternList);
  return {
    tagStatus: selection.tagStatus,
    ...(priority === undefined ? {} : { priority }),
    ...(prefixKey === undefined ? {} : { prefixKey }),
    ...(patternKey === undefined ? {} : { patternKey }),
  };
}

function sayRepeats(views: readonly RuleView[], { keyOf, problem }: RepeatCheck, say: Say): void {
  const firstByKey = new Map<string, RuleView>();
  for (const view of views) {
    const key = keyOf(view);
    if (key === undefined) continue;
    const first = firstByKey.get(key);
    if (first === undefined) firstByKey.set(key, view);
    else say(`${view.label}: ${problem(key, first.label)}`);
  }
}

function readPositiveInteger(raw: unknown, name: string, say: Say): number | undefined {
  if (raw === undefined) say(`${name} is required (a whole number ≥ 1)`);
  else if (!isPositiveInteger(raw)) say(`${name} must be a whole number ≥ 1, got ${show(raw)}`);
  return isPositiveInteger(raw) ? raw : undefined;
}

function readStringList(raw: unknown, name: string, say: Say): readonly string[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) {
    say(`${name} must be a non-empty list of strings, got ${show(raw)}`);
    return undefined;
  }
  const bad = raw.filter((item) => typeof item !== 'string' || item === '');
  if (bad.length > 0) say(`${name} must hold non-empty strings only, got ${bad.map(show).join(', ')}`);
  return bad.length > 0 ? undefined : (raw as string[]);
}

function rejectUnknownKeys(raw: JsonObject, known: readonly string[], where: string, say: Say): void {
  for (const key of Object.keys(raw).filter((k) => !known.includes(k))) {
    say(`unknown property ${where}${key} (allowed: ${known.join(', ')})`);
  }
}

function ruleLabel(raw: unknown, index: number): string {
  const priority = isObject(raw) ? raw.rulePriority : undefined;
  return priority === undefined ? `rule ${index + 1}` : `rule ${index + 1} (rulePriority ${show(priority)})`;
}

function countWildcards(pattern: string): number {
  return pattern.split('*').length - 1;
}

function isTagStatus(value: unknown): value is TagStatus {
  return TAG_STATUSES.includes(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
