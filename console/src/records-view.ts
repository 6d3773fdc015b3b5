// The Records view: page through a collection with the scroll cursor, filter it, open a record.
import { api, VecStoreError, type ScrolledRecord } from './api.js';
import { errorText } from './collections-view.js';
import { briefJson, field, formatNumber, h, replace, statusArea, table } from './dom.js';
import type { ConsoleState, View } from './state.js';

const PAGE_SIZE = 20;
/** Values of a vector shown when a record is opened. */
const FIRST_VALUES = 8;

export class RecordsView implements View {
  readonly id = 'records';
  readonly title = 'Records';
  readonly element: HTMLElement;
  private readonly filter = h('input', { name: 'filter', autocomplete: 'off', spellcheck: false, placeholder: "lang = 'en' AND year >= 2020" });
  private readonly heading = h('h2', { id: 'h-records' }, 'Records');
  private readonly summary = statusArea();
  private readonly error = statusArea('alert');
  private readonly page = h('div', { class: 'table-wrap' });
  private readonly detail = h('div', { class: 'detail', 'aria-live': 'polite' });
  private readonly prev = h('button', { type: 'button', disabled: true, onclick: () => void this.load(this.cursors.length - 2) }, 'Previous page');
  private readonly next = h('button', { type: 'button', disabled: true, onclick: () => void this.load(this.cursors.length) }, 'Next page');
  /** The cursor of every page shown so far (page i starts after cursors[i]; undefined: the first page). */
  private cursors: Array<string | undefined> = [];
  private nextCursor: string | null = null;
  private appliedFilter = '';

  constructor(private readonly state: ConsoleState) {
    const form = h('form', {
      class: 'inline-form', 'aria-label': 'Filter records',
      onsubmit: (e: Event) => {
        e.preventDefault();
        this.appliedFilter = this.filter.value.trim();
        this.cursors = [];
        void this.load(0);
      },
    }, field('Filter', this.filter, 'The filter language, e.g. lang = \'en\' AND NOT archived = true'), h('button', { type: 'submit' }, 'Apply filter'));
    this.element = h('section', { id: 'view-records', 'aria-labelledby': 'h-records' },
      this.heading, form, this.error, this.summary, this.page, h('div', { class: 'pager' }, this.prev, this.next), this.detail);
    state.addEventListener('selected', () => {
      this.cursors = [];
      replace(this.detail);
      if (!this.element.hidden) void this.load(0);
    });
  }

  show(): void {
    void this.load(Math.max(0, this.cursors.length - 1));
  }

  hide(): void {}

  /** Loads page `index` (0 = first): the cursors of earlier pages are kept, so Previous goes back exactly. */
  private async load(index: number): Promise<void> {
    const name = this.state.selected;
    replace(this.heading, name ? `Records of ${name}` : 'Records');
    replace(this.error);
    this.filter.removeAttribute('aria-invalid');
    if (!name) {
      replace(this.page, h('p', {}, 'No collection selected.'));
      return;
    }
    if (index < 0) return;
    const cursor = index === 0 ? undefined : index < this.cursors.length ? this.cursors[index] : (this.nextCursor ?? undefined);
    const filter = this.appliedFilter || undefined;
    try {
      const [page, count] = await Promise.all([api.scroll(name, { filter, limit: PAGE_SIZE, cursor }), index === 0 ? api.count(name, filter) : undefined]);
      this.cursors = [...this.cursors.slice(0, index), cursor];
      this.nextCursor = page.next_cursor;
      if (count !== undefined) replace(this.summary, `${formatNumber(count)} ${filter ? 'matching ' : ''}records.`);
      this.renderPage(name, page.records, index);
    } catch (err) {
      this.showError(err);
      replace(this.page);
    }
    this.prev.disabled = this.cursors.length <= 1;
    this.next.disabled = this.nextCursor === null;
  }

  private renderPage(name: string, records: ScrolledRecord[], index: number): void {
    if (records.length === 0) {
      replace(this.page, h('p', {}, index === 0 ? 'No records.' : 'No more records.'));
      return;
    }
    const rows = records.map((r) => [
      h('button', { type: 'button', class: 'link', onclick: () => void this.open(name, r.id), 'aria-label': `Open record ${r.id}` }, r.id),
      h('code', {}, briefJson(r.metadata)),
      r.text === undefined ? '' : briefJson(r.text, 80).slice(1, -1),
    ]);
    replace(this.page, table(`Page ${index + 1} of the records of ${name}`, ['id', 'metadata', 'text'], rows));
  }

  /** A filter error says where it went wrong: the message, then the filter with a caret under that character. */
  private showError(err: unknown): void {
    const position = err instanceof VecStoreError && err.code === 'invalid_filter' ? filterErrorPosition(err.message) : undefined;
    if (position === undefined) {
      replace(this.error, errorText(err));
      return;
    }
    const text = this.appliedFilter;
    replace(this.error, errorText(err),
      h('pre', { class: 'caret', 'aria-hidden': 'true' }, text, '\n', `${' '.repeat(Math.min(position, text.length))}^`));
    this.filter.setAttribute('aria-invalid', 'true');
    this.filter.focus();
    this.filter.setSelectionRange(position, Math.min(position + 1, text.length));
  }

  private async open(name: string, id: string): Promise<void> {
    try {
      const r = await api.getRecord(name, id);
      const vector = r.vector ?? [];
      const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
      const first = vector.slice(0, FIRST_VALUES).map((x) => x.toPrecision(4)).join(', ');
      replace(this.detail,
        h('h3', {}, `Record ${r.id}`),
        h('dl', {},
          h('dt', {}, 'Dimension'), h('dd', {}, String(vector.length)),
          h('dt', {}, 'Norm'), h('dd', { 'data-field': 'norm' }, norm.toPrecision(6)),
          h('dt', {}, `First ${Math.min(FIRST_VALUES, vector.length)} values`), h('dd', {}, h('code', {}, `[${first}${vector.length > FIRST_VALUES ? ', …' : ''}]`)),
          h('dt', {}, 'Soft-deleted'), h('dd', {}, r.deleted ? 'yes' : 'no'),
          r.text === undefined ? null : h('dt', {}, 'Text'), r.text === undefined ? null : h('dd', {}, r.text),
        ),
        h('h4', {}, 'Metadata'),
        h('pre', { class: 'json' }, JSON.stringify(r.metadata, null, 2)),
        h('button', { type: 'button', onclick: () => this.findSimilar(r.id) }, 'Find similar records'),
      );
    } catch (err) {
      replace(this.detail, h('p', { class: 'error', role: 'alert' }, errorText(err)));
    }
  }

  private findSimilar(id: string): void {
    this.element.dispatchEvent(new CustomEvent('find-similar', { bubbles: true, detail: { id } }));
  }
}

/** The character offset the server's filter error names (`… at character 12`; the last one is where it failed). */
export function filterErrorPosition(message: string): number | undefined {
  const all = [...message.matchAll(/at character (\d+)/g)];
  return all.length > 0 ? Number(all[all.length - 1][1]) : undefined;
}
