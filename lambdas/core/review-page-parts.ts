import { escapeHtml } from './digest';
import { isCreatedTime } from './model';
import type { PlanItem } from './plan';
import { ownBytes } from './plan-summary';
import { imageKey } from './review-view';
import { ago, formatUtc, plural, shortDigest } from './time-text';
import { formatBytes, monthlyStorageCost } from './units';

/**
 * The review page's whole stylesheet. Served inline and allowed by its SHA-256 hash in the
 * Content-Security-Policy, so it is a constant: never interpolate into it.
 */
export const REVIEW_STYLE = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa;--ok:#1a7f37;--bad:#c0262d;--warn:#8a5a00}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--bg:#0d1117;--soft:#161b22;--ok:#3fb950;--bad:#ff7b72;--warn:#d29922}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0 auto;max-width:60rem;padding:1rem;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);overflow-wrap:anywhere}
h1{font-size:1.4rem;line-height:1.25;margin:0 0 .5rem}
h2{font-size:1.1rem;margin:1.5rem 0 .25rem}
p{margin:.5rem 0}
code,pre{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:.75rem}
.total{font-size:1.1rem;font-weight:600}
.note,.meta,.reason,.who{color:var(--muted)}
.note{font-size:.95rem}
fieldset,section.repo{border:1px solid var(--line);border-radius:8px;margin:1rem 0;padding:.25rem .75rem .5rem;min-width:0}
legend{font-weight:600;padding:0 .35rem}
section.repo h2{margin:.5rem 0}
ul.images,ul.members,ul.plain{list-style:none;margin:0;padding:0}
ul.images>li{border-top:1px solid var(--line);padding:.6rem 0}
ul.images>li:first-child{border-top:0}
li.pick{display:grid;grid-template-columns:auto minmax(0,1fr);column-gap:.6rem}
ul.members{grid-column:1/-1;margin:.4rem 0 0 .9rem;padding-left:1rem;border-left:2px solid var(--line)}
ul.members>li{padding:.35rem 0}
input[type=checkbox]{width:1.3rem;height:1.3rem;margin:.1rem 0 0;accent-color:var(--bad)}
label{display:block;cursor:pointer}
.name{font-weight:600}
.meta,.reason{display:block;font-size:.9rem}
.role{display:inline-block;font-size:.75rem;border:1px solid var(--line);border-radius:1rem;padding:0 .45rem;margin-left:.25rem;color:var(--muted)}
.outcome{display:block;font-weight:600}
.outcome.deleted{color:var(--ok)}
.outcome.failed{color:var(--bad)}
.outcome.skipped,.outcome.pending,.outcome.unknown{color:var(--warn)}
.outcome.kept{color:var(--muted)}
.problem{border-left:3px solid var(--warn);padding-left:.6rem}
.actions{position:sticky;bottom:0;background:var(--bg);border-top:1px solid var(--line);padding:.75rem 0;margin-top:1rem}
.toggles{margin:.25rem 0 .5rem;display:flex;gap:.5rem;flex-wrap:wrap}
button{font:inherit;min-height:2.75rem;padding:.5rem 1rem;border-radius:6px;border:1px solid var(--line);background:var(--soft);color:var(--fg);cursor:pointer}
.toggles button{min-height:2.25rem;padding:.25rem .75rem;font-size:.9rem}
button.delete{background:#c0262d;border-color:#c0262d;color:#fff;font-weight:600;width:100%;max-width:24rem}
button:disabled{opacity:.6;cursor:default}
details{margin:1rem 0}
summary{cursor:pointer}
[hidden]{display:none!important}
`;

/**
 * The review page's optional enhancement: "Select all" / "Select none" per repository, a root's
 * checkbox carrying its platform images and referrers along, and a live total of what the
 * checked images reclaim. It never submits, fetches or navigates (mail scanners run scripts);
 * the page works the same without it. A constant, allowed by its SHA-256 hash.
 */
export const REVIEW_SCRIPT = `
(function () {
  'use strict';
  var form = document.getElementById('approve');
  var live = document.getElementById('checked-total');
  if (!form || !live) return;
  var boxes = form.querySelectorAll('input[name="image"]');
  var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  function bytesText(bytes) {
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return unit === 0 ? value + ' B' : value.toFixed(1) + ' ' + units[unit];
  }
  function update() {
    var count = 0;
    var bytes = 0;
    for (var i = 0; i < boxes.length; i++) {
      if (!boxes[i].checked) continue;
      count++;
      bytes += Number(boxes[i].getAttribute('data-bytes')) || 0;
    }
    live.textContent = 'Checked: ' + count + (count === 1 ? ' image, ' : ' images, ') + bytesText(bytes) +
      ', up to $' + (bytes / 1073741824 * 0.1).toFixed(2) + ' a month';
    live.hidden = false;
  }
  function setAll(scope, checked) {
    var inside = scope.querySelectorAll('input[name="image"]');
    for (var i = 0; i < inside.length; i++) inside[i].checked = checked;
    update();
  }
  function button(text, onClick) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.addEventListener('click', onClick);
    return b;
  }
  var sets = form.querySelectorAll('fieldset.repo');
  for (var i = 0; i < sets.length; i++) {
    (function (set) {
      var bar = document.createElement('p');
      bar.className = 'toggles';
      bar.appendChild(button('Select all', function () { setAll(set, true); }));
      bar.appendChild(button('Select none', function () { setAll(set, false); }));
      var legend = set.querySelector('legend');
      set.insertBefore(bar, legend ? legend.nextSibling : set.firstChild);
    })(sets[i]);
  }
  form.addEventListener('change', function (event) {
    var box = event.target;
    if (!box || box.name !== 'image') return;
    var family = box.parentNode;
    if (family && family.classList && family.classList.contains('family')) {
      var members = family.querySelectorAll('.members input[name="image"]');
      for (var i = 0; i < members.length; i++) members[i].checked = box.checked;
    }
    update();
  });
  form.addEventListener('submit', function () {
    var submit = form.querySelector('button.delete');
    if (submit) setTimeout(function () { submit.disabled = true; }, 0);
  });
  update();
})();
`;

/** A complete page around `body`: inline style, the script only when asked, nothing from elsewhere. */
export function htmlDocument(title: string, body: string, withScript = false): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${REVIEW_STYLE}</style>`,
    '</head>',
    '<body>',
    body,
    withScript ? `<script>${REVIEW_SCRIPT}</script>` : '',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** A root and the platform images and referrers that follow it, as the plan lists them. */
export interface FamilyGroup {
  readonly root: PlanItem;
  readonly members: readonly PlanItem[];
}

/**
 * Groups candidates in plan order: each root followed by the members whose `root` it is. A
 * member whose root is not just above it (it should not happen) becomes a group of its own.
 */
export function familyGroups(candidates: readonly PlanItem[]): FamilyGroup[] {
  const groups: { root: PlanItem; members: PlanItem[] }[] = [];
  let current: { root: PlanItem; members: PlanItem[] } | undefined;
  for (const item of candidates) {
    if (current !== undefined && item.role !== 'root' && item.root === current.root.digest) {
      current.members.push(item);
    } else {
      current = { root: item, members: [] };
      groups.push(current);
    }
  }
  return groups;
}

/** `412 images, 38.2 GiB, up to $3.91 a month`. */
export function totalText(count: number, bytes: number): string {
  return `${plural(count, 'image')}, ${formatBytes(bytes)}, up to ${monthlyStorageCost(bytes)} a month`;
}

/** Count and bytes of a list of items (an index's bytes are its platform images', see `ownBytes`). */
export function sizeOf(items: readonly PlanItem[]): { count: number; bytes: number } {
  let bytes = 0;
  for (const item of items) bytes += ownBytes(item);
  return { count: items.length, bytes };
}

/** A size as a non-negative whole number, whatever the store held. */
export function byteCount(sizeBytes: number): number {
  return Number.isFinite(sizeBytes) && sizeBytes > 0 ? Math.round(sizeBytes) : 0;
}

/** `2026-11-22 06:00:00 UTC`, or `an unknown time` for a date that is not one. */
export function utcText(date: Date): string {
  return Number.isNaN(date.getTime()) ? 'an unknown time' : `${formatUtc(date)} UTC`;
}

/** `2026-11-22 06:00:00 UTC (2 days ago)`. */
export function whenText(date: Date, now: Date): string {
  return Number.isNaN(date.getTime()) ? 'an unknown time' : `${utcText(date)} (${ago(date, now)})`;
}

const ROLE_TEXT: Readonly<Record<PlanItem['role'], string>> = {
  root: '',
  child: 'platform image',
  referrer: 'signature or attestation',
};

/**
 * What a person needs to recognise an image, escaped: its tags (or short digest when it has none),
 * its role under a root, push date and age, size, and the plan's reason.
 */
export function imageDetails(item: PlanItem, now: Date): string {
  const tagged = item.tags.length > 0;
  const name = tagged ? item.tags.join(', ') : shortDigest(item.digest);
  const role = item.role === 'root' ? '' : ` <span class="role">${ROLE_TEXT[item.role]}</span>`;
  const digest = tagged ? ` <code>${escapeHtml(shortDigest(item.digest))}</code>` : '';
  const verb = isCreatedTime(item.pushedAtSource) ? 'created' : 'pushed';
  const meta = `${verb} ${whenText(item.pushedAt, now)}, ${formatBytes(byteCount(item.sizeBytes))}`;
  return [
    `<span class="name">${escapeHtml(name)}</span>${role}${digest}`,
    `<span class="meta">${escapeHtml(meta)}</span>`,
    `<span class="reason">${escapeHtml(item.reason)}</span>`,
  ].join(' ');
}

/** One checked checkbox with its label; `id` is made of safe characters by the caller. */
export function candidateControl(item: PlanItem, id: string, now: Date): string {
  const value = escapeHtml(imageKey(item));
  return (
    `<input type="checkbox" name="image" value="${value}" id="${id}" data-bytes="${ownBytes(item)}" checked>` +
    `<label for="${id}">${imageDetails(item, now)}</label>`
  );
}

/** A list of family groups, members indented under their root; `row` renders one item. */
export function familyList(
  groups: readonly FamilyGroup[],
  row: (item: PlanItem) => string,
  rootClass: string,
): string {
  const out: string[] = ['<ul class="images">'];
  for (const group of groups) {
    const cls = group.members.length > 0 ? `${rootClass} family` : rootClass;
    out.push(`<li class="${cls}">`, row(group.root));
    if (group.members.length > 0) {
      out.push('<ul class="members">');
      for (const member of group.members) out.push(`<li class="${rootClass}">`, row(member), '</li>');
      out.push('</ul>');
    }
    out.push('</li>');
  }
  out.push('</ul>');
  return out.join('');
}
