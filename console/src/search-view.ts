// The Search view: the neighbours of a stored record ("Find similar"), optionally hybrid with a text and filtered.
import { api, type QueryAnswer } from './api.js';
import { errorText } from './collections-view.js';
import { briefJson, field, formatNumber, h, replace, statusArea, table } from './dom.js';
import type { ConsoleState, View } from './state.js';

export class SearchView implements View {
  readonly id = 'search';
  readonly title = 'Search';
  readonly element: HTMLElement;
  private readonly recordId = h('input', { name: 'record-id', required: true, autocomplete: 'off', spellcheck: false });
  private readonly text = h('input', { name: 'text', autocomplete: 'off' });
  private readonly filter = h('input', { name: 'filter', autocomplete: 'off', spellcheck: false });
  private readonly limit = h('input', { name: 'limit', type: 'number', min: '1', max: '1000', step: '1', value: '10' });
  private readonly heading = h('h2', { id: 'h-search' }, 'Search');
  private readonly error = statusArea('alert');
  private readonly results = h('div', { class: 'table-wrap', 'aria-live': 'polite' });
  private readonly stats = h('div', { class: 'stats' });

  constructor(private readonly state: ConsoleState) {
    const form = h('form', {
      class: 'search-form', 'aria-label': 'Find records similar to a stored one',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void this.search();
      },
    },
    field('Record id', this.recordId, 'Its stored vector is the query'),
    field('Text', this.text, 'Optional: hybrid search, BM25 over the records\' text fused with the vector'),
    field('Filter', this.filter, 'Optional: the filter language'),
    field('Limit', this.limit),
    h('button', { type: 'submit' }, 'Find similar'));
    this.element = h('section', { id: 'view-search', 'aria-labelledby': 'h-search' }, this.heading, form, this.error, this.stats, this.results);
    state.addEventListener('selected', () => this.show());
  }

  show(): void {
    replace(this.heading, this.state.selected ? `Search in ${this.state.selected}` : 'Search');
  }

  hide(): void {}

  /** Fills in a record id and runs the search (from the Records view's "Find similar records"). */
  searchFrom(id: string): void {
    this.recordId.value = id;
    void this.search();
  }

  private async search(): Promise<void> {
    const name = this.state.selected;
    replace(this.error);
    if (!name) {
      replace(this.error, 'No collection selected.');
      return;
    }
    const id = this.recordId.value.trim();
    const limit = Math.max(1, Math.floor(Number(this.limit.value) || 10));
    const text = this.text.value.trim();
    const filter = this.filter.value.trim();
    try {
      const record = await api.getRecord(name, id);
      // One more than asked for: the record itself is its own best match unless the filter leaves it out.
      const answer = await api.query(name, {
        vector: record.vector ?? [], limit: limit + 1,
        ...(filter ? { filter } : {}), ...(text ? { text_query: text } : {}),
      });
      this.render(name, id, answer, limit);
    } catch (err) {
      replace(this.results);
      replace(this.stats);
      replace(this.error, errorText(err));
    }
  }

  private render(name: string, id: string, answer: QueryAnswer, limit: number): void {
    const hits = answer.results.filter((r) => r.id !== id).slice(0, limit);
    const s = answer.stats;
    replace(this.stats, h('dl', { class: 'inline', 'aria-label': 'Query statistics' },
      h('dt', {}, 'Index path'), h('dd', { 'data-stat': 'index' }, s.index),
      h('dt', {}, 'ef'), h('dd', { 'data-stat': 'ef' }, s.ef === undefined ? '—' : String(s.ef)),
      h('dt', {}, 'Distances computed'), h('dd', { 'data-stat': 'distances' }, formatNumber(s.distance_computations)),
      h('dt', {}, 'Duration'), h('dd', { 'data-stat': 'duration' }, `${formatNumber(s.duration_ms, 2)} ms`),
      h('dt', {}, 'Expected recall'), h('dd', {}, s.expected_recall === null ? '—' : formatNumber(s.expected_recall, 3)),
      h('dt', {}, 'Candidates'), h('dd', {}, `${formatNumber(s.filtered_count)} of ${formatNumber(s.total_candidates)}`),
    ));
    if (hits.length === 0) {
      replace(this.results, h('p', {}, 'No neighbours.'));
      return;
    }
    const rows = hits.map((r) => [r.id, r.score.toPrecision(6), h('code', {}, briefJson(r.metadata ?? {}))]);
    replace(this.results, table(`Records of ${name} most similar to ${id} (the record itself left out)`, ['id', 'score', 'metadata'], rows));
  }
}
