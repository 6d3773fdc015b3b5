// Building DOM without HTML strings: every value lands in text nodes or properties, so data can never become markup.

export type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;

/** `h('button', { type: 'button', onclick: fn }, 'Drop')`: an element with properties, listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value as EventListener);
    else if (name === 'class') el.className = String(value);
    else if (name === 'for') (el as HTMLLabelElement).htmlFor = String(value);
    else if (name in el && typeof value !== 'string') (el as unknown as Record<string, unknown>)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'number' ? String(child) : child);
  }
}

/** A labelled form field: `<label for=id>text</label>` then the control. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${(nextId++).toString(36)}`;
  control.id = id;
  let hintEl: HTMLElement | undefined;
  if (hint) {
    hintEl = h('small', { id: `${id}-hint`, class: 'hint' }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}
let nextId = 1;

/** A table with a header row; rows are arrays of cells. */
export function table(caption: string, headers: string[], rows: Child[][], options: { captionHidden?: boolean } = {}): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', { class: options.captionHidden ? 'visually-hidden' : '' }, caption),
    h('thead', {}, h('tr', {}, ...headers.map((name) => h('th', { scope: 'col' }, name)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((c) => h('td', {}, c))))),
  );
}

/** A message area read out by screen readers when it changes. */
export function statusArea(role: 'status' | 'alert' = 'status'): HTMLElement {
  return h('div', { role, class: role === 'alert' ? 'error' : 'status' });
}

export function formatNumber(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Compact one-line JSON, cut to `max` characters. */
export function briefJson(value: unknown, max = 120): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Asks for confirmation in a modal `<dialog>` (focus stays inside, Escape cancels); resolves true when confirmed.
 * Cancel is focused first, so Enter does not confirm a destructive action by accident.
 */
export function confirmAction(message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const ok = h('button', { type: 'button', class: 'danger' }, confirmLabel);
    const text = h('p', { id: `confirm-${nextId++}` }, message);
    const dialog = h('dialog', { 'aria-describedby': text.id, 'aria-label': confirmLabel }, text, h('div', { class: 'actions' }, cancel, ok));
    const done = (value: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener('click', () => done(false));
    ok.addEventListener('click', () => done(true));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
