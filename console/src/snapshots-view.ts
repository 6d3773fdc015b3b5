// The Snapshots view: a collection's snapshots; create, restore and delete (each with a confirmation), download a
// snapshot's file and upload one.
import { api } from './api.js';
import { errorText } from './collections-view.js';
import { confirmAction, field, formatBytes, h, replace, statusArea, table } from './dom.js';
import type { ConsoleState, View } from './state.js';

export class SnapshotsView implements View {
  readonly id = 'snapshots';
  readonly title = 'Snapshots';
  readonly element: HTMLElement;
  private readonly heading = h('h2', { id: 'h-snapshots' }, 'Snapshots');
  private readonly list = h('div', { class: 'table-wrap' });
  private readonly message = statusArea();
  private readonly error = statusArea('alert');
  private readonly createFieldset: HTMLFieldSetElement;
  private readonly uploadFieldset: HTMLFieldSetElement;

  constructor(private readonly state: ConsoleState) {
    const name = h('input', { name: 'snapshot', required: true, autocomplete: 'off', spellcheck: false });
    this.createFieldset = h('fieldset', {}, h('legend', {}, 'New snapshot'), field('Snapshot name', name), h('button', { type: 'submit' }, 'Create snapshot'));
    const form = h('form', {
      class: 'inline-form', 'aria-label': 'Create a snapshot',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void this.create(name.value.trim(), form as HTMLFormElement);
      },
    }, this.createFieldset);
    const uploadName = h('input', { name: 'upload-name', required: true, autocomplete: 'off', spellcheck: false });
    const file = h('input', { name: 'file', type: 'file', required: true, accept: '.vecsnap,application/octet-stream' });
    this.uploadFieldset = h('fieldset', {}, h('legend', {}, 'Upload a snapshot file'),
      field('Store as snapshot', uploadName), field('Snapshot file', file, 'A file downloaded from a VecStore server'), h('button', { type: 'submit' }, 'Upload snapshot'));
    const uploadForm = h('form', {
      class: 'inline-form', 'aria-label': 'Upload a snapshot file',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const chosen = file.files?.[0];
        if (chosen) void this.upload(uploadName.value.trim(), chosen, uploadForm as HTMLFormElement);
      },
    }, this.uploadFieldset);
    this.element = h('section', { id: 'view-snapshots', 'aria-labelledby': 'h-snapshots' }, this.heading, this.error, this.message, this.list, form, uploadForm);
    state.addEventListener('selected', () => { if (!this.element.hidden) this.show(); });
    state.addEventListener('who', () => { if (!this.element.hidden) this.show(); });
  }

  show(): void {
    void this.load();
  }

  hide(): void {}

  private async load(): Promise<void> {
    const name = this.state.selected;
    replace(this.heading, name ? `Snapshots of ${name}` : 'Snapshots');
    const writable = this.state.canWrite(name);
    for (const fieldset of [this.createFieldset, this.uploadFieldset]) {
      fieldset.disabled = !writable || !name;
      fieldset.title = writable ? '' : 'Snapshots need a key that may write';
    }
    if (!name) {
      replace(this.list, h('p', {}, 'No collection selected.'));
      return;
    }
    try {
      const snapshots = await api.listSnapshots(name);
      replace(this.error);
      if (snapshots.length === 0) {
        replace(this.list, h('p', {}, 'No snapshots yet.'));
        return;
      }
      const rows = snapshots.map((s) => {
        const restore = h('button', { type: 'button', class: 'danger small', onclick: () => void this.restore(name, s.name), 'aria-label': `Restore ${s.name}` }, 'Restore');
        const remove = h('button', { type: 'button', class: 'danger small', onclick: () => void this.remove(name, s.name), 'aria-label': `Delete ${s.name}` }, 'Delete');
        if (!writable) {
          restore.disabled = remove.disabled = true;
          restore.title = remove.title = 'Needs a key that may write';
        }
        const download = h('button', { type: 'button', class: 'small', onclick: () => void this.download(name, s.name), 'aria-label': `Download ${s.name}` }, 'Download');
        return [s.name, new Date(s.created_at * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC', formatBytes(s.size_bytes), h('span', { class: 'actions' }, restore, ' ', download, ' ', remove)];
      });
      replace(this.list, table(`Snapshots of ${name}`, ['Name', 'Created', 'Size', 'Actions'], rows, { captionHidden: true }));
    } catch (err) {
      replace(this.error, errorText(err));
    }
  }

  private async create(snapshot: string, form: HTMLFormElement): Promise<void> {
    const name = this.state.selected;
    if (!name) return;
    try {
      await api.createSnapshot(name, snapshot);
      form.reset();
      replace(this.message, `Created snapshot ${snapshot}.`);
      await this.load();
    } catch (err) {
      replace(this.error, errorText(err));
    }
  }

  private async restore(name: string, snapshot: string): Promise<void> {
    const ok = await confirmAction(`Restore “${name}” to snapshot “${snapshot}”? Writes made since the snapshot are lost.`, 'Restore snapshot');
    if (!ok) return;
    try {
      const { vectors_restored } = await api.restoreSnapshot(name, snapshot);
      replace(this.message, `Restored ${snapshot}: ${vectors_restored} active vectors.`);
      void this.state.reloadCollections();
    } catch (err) {
      replace(this.error, errorText(err));
    }
  }

  private async remove(name: string, snapshot: string): Promise<void> {
    if (!(await confirmAction(`Delete snapshot “${snapshot}” of “${name}”? Its files are removed for good.`, 'Delete snapshot'))) return;
    try {
      await api.deleteSnapshot(name, snapshot);
      replace(this.message, `Deleted snapshot ${snapshot}.`);
      await this.load();
    } catch (err) {
      replace(this.error, errorText(err));
    }
  }

  private async upload(snapshot: string, file: File, form: HTMLFormElement): Promise<void> {
    const name = this.state.selected;
    if (!name) return;
    replace(this.error);
    try {
      const stored = await api.uploadSnapshot(name, snapshot, file);
      form.reset();
      replace(this.message, `Uploaded ${file.name} as snapshot ${stored.name} (${stored.vectors} records); restore it to use it.`);
      await this.load();
    } catch (err) {
      replace(this.error, errorText(err));
    }
  }

  /** Fetched with the key in a header (a plain link could not carry it), then saved from a blob URL. */
  private async download(name: string, snapshot: string): Promise<void> {
    try {
      const { blob, filename } = await api.downloadSnapshot(name, snapshot);
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: filename, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      replace(this.message, `Downloaded ${filename}.`);
    } catch (err) {
      replace(this.error, errorText(err));
    }
  }
}
