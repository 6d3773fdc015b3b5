// The Collections view: every collection with its counts, index progress and recall estimate; create and drop.
import { api, VecStoreError, type CollectionStats, type CollectionSummary, type Metric } from './api.js';
import { confirmAction, field, formatNumber, h, replace, statusArea, table } from './dom.js';
import type { ConsoleState, View } from './state.js';

const REFRESH_MS = 5000;

export class CollectionsView implements View {
  readonly id = 'collections';
  readonly title = 'Collections';
  readonly element: HTMLElement;
  private readonly list = h('div', { class: 'table-wrap' });
  private readonly message = statusArea('alert');
  private readonly createStatus = statusArea();
  private readonly createButton: HTMLButtonElement;
  private readonly createFieldset: HTMLFieldSetElement;
  private timer: number | undefined;
  private loading = false;

  constructor(private readonly state: ConsoleState) {
    const name = h('input', { name: 'name', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9_\\-]{0,63}', autocomplete: 'off', spellcheck: false });
    const dimension = h('input', { name: 'dimension', type: 'number', min: '1', step: '1', inputMode: 'numeric' });
    const metric = h('select', { name: 'metric' }, ...(['cosine', 'dot', 'euclidean'] as const).map((m) => h('option', { value: m }, m)));
    this.createButton = h('button', { type: 'submit' }, 'Create collection');
    this.createFieldset = h(
      'fieldset', {},
      h('legend', {}, 'New collection'),
      field('Name', name, 'Letters, digits, - and _; up to 64 characters'),
      field('Dimension', dimension, 'Empty: the first vector fixes it'),
      field('Metric', metric),
      this.createButton,
    );
    const form = h('form', {
      class: 'inline-form', 'aria-label': 'Create a collection',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void this.create(name.value.trim(), dimension.value === '' ? undefined : Number(dimension.value), metric.value as Metric, form as HTMLFormElement);
      },
    }, this.createFieldset, this.createStatus);
    this.element = h('section', { id: 'view-collections', 'aria-labelledby': 'h-collections' },
      h('h2', { id: 'h-collections' }, 'Collections'),
      this.message,
      this.list,
      form,
    );
    state.addEventListener('who', () => this.applyAccess());
    state.addEventListener('collections', () => void this.render());
    this.applyAccess();
  }

  show(): void {
    void this.refresh();
    this.timer = window.setInterval(() => void this.refresh(), REFRESH_MS);
  }

  hide(): void {
    window.clearInterval(this.timer);
  }

  private applyAccess(): void {
    const allowed = this.state.canAdmin();
    this.createFieldset.disabled = !allowed;
    this.createButton.title = allowed ? '' : 'Creating collections needs an admin key';
  }

  async refresh(): Promise<void> {
    if (this.loading) return;
    this.loading = true;
    try {
      await this.state.reloadCollections();
      replace(this.message);
    } catch (err) {
      replace(this.message, errorText(err));
    } finally {
      this.loading = false;
    }
  }

  private async render(): Promise<void> {
    const collections = this.state.collections;
    const stats = await Promise.all(collections.map((c) => api.stats(c.name).catch(() => undefined)));
    if (collections !== this.state.collections) return; // a newer list arrived meanwhile
    if (collections.length === 0) {
      replace(this.list, h('p', {}, 'No collections yet.'));
      return;
    }
    const rows = collections.map((c, i) => this.row(c, stats[i]));
    // The table is redrawn every few seconds: a keyboard user's focus goes back to the same button in the new one.
    const focused = this.list.contains(document.activeElement) ? document.activeElement?.getAttribute('aria-label') : null;
    replace(this.list, table('Collections on this server', ['Name', 'Dimension', 'Metric', 'Index', 'Active', 'Deleted', 'Index progress', 'Recall estimate', 'Actions'], rows, { captionHidden: true }));
    if (focused) [...this.list.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === focused)?.focus();
  }

  private row(c: CollectionSummary, stats: CollectionStats | undefined): Array<Node | string> {
    const open = h('button', { type: 'button', class: 'link', onclick: () => this.open(c.name) }, c.name);
    open.setAttribute('aria-label', `Open ${c.name}`);
    const drop = h('button', { type: 'button', class: 'danger small', onclick: () => void this.drop(c.name) }, 'Drop');
    drop.setAttribute('aria-label', `Drop ${c.name}`);
    if (!this.state.canAdmin(c.name)) {
      drop.disabled = true;
      drop.title = 'Dropping collections needs an admin key';
    }
    return [
      open,
      c.dimension === null ? '—' : String(c.dimension),
      c.metric,
      c.index,
      h('span', { 'data-count': 'active' }, formatNumber(c.active_vectors)),
      h('span', { 'data-count': 'deleted' }, formatNumber(c.deleted_vectors)),
      indexProgress(c, stats),
      recall(stats),
      drop,
    ];
  }

  private open(name: string): void {
    this.state.select(name);
    location.hash = '#records';
  }

  private async create(name: string, dimension: number | undefined, metric: Metric, form: HTMLFormElement): Promise<void> {
    replace(this.createStatus);
    try {
      await api.createCollection(name, dimension === undefined ? { metric } : { dimension, metric });
      form.reset();
      replace(this.createStatus, `Created ${name}.`);
      this.state.select(name);
      await this.refresh();
    } catch (err) {
      replace(this.createStatus, h('span', { class: 'error' }, errorText(err)));
    }
  }

  private async drop(name: string): Promise<void> {
    const ok = await confirmAction(`Drop collection “${name}”? Its vectors, log and snapshots are deleted for good.`, 'Drop collection');
    if (!ok) return;
    try {
      await api.dropCollection(name);
      replace(this.message);
      replace(this.createStatus, `Dropped ${name}.`);
      await this.refresh();
    } catch (err) {
      replace(this.message, errorText(err));
    }
  }
}

/** How much of the collection the graph holds (flat collections and small stores scan exactly). */
function indexProgress(c: CollectionSummary, stats: CollectionStats | undefined): Node | string {
  if (!stats) return '—';
  if (c.index === 'flat') return 'exact scan';
  const rows = stats.indexed_vectors + stats.pending_vectors;
  if (rows === 0) return 'empty';
  const done = stats.indexed_vectors / rows;
  const label = `${Math.floor(done * 100)} % (${formatNumber(stats.indexed_vectors)} of ${formatNumber(rows)})`;
  const bar = h('progress', { max: 1, value: done });
  bar.setAttribute('aria-label', `Index progress of ${c.name}`);
  return h('span', { class: 'progress' }, bar, ' ', label);
}

function recall(stats: CollectionStats | undefined): string {
  if (!stats) return '—';
  if (stats.recall_estimate.value === null) return stats.index === 'flat' ? 'exact' : 'not measured yet';
  return `${formatNumber(stats.recall_estimate.value, 3)} (${formatNumber(stats.recall_estimate.audits)} audits)`;
}

export function errorText(err: unknown): string {
  if (err instanceof VecStoreError) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
