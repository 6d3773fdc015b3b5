// What every view shares: who the key is (and so which buttons work), the collections, and the one being looked at.
import { api, type CollectionSummary, type WhoAmI } from './api.js';

/** Events: `who` (key changed), `collections` (list reloaded), `selected` (another collection chosen). */
export class ConsoleState extends EventTarget {
  who: WhoAmI | undefined;
  collections: CollectionSummary[] = [];
  selected: string | undefined;

  /** Whether the key may write into `collection` (the selected one by default): upserts, snapshots, restores. */
  canWrite(collection = this.selected): boolean {
    return this.who !== undefined && this.who.role !== 'read' && (collection === undefined || inScope(this.who.collections, collection));
  }

  /** Whether the key may create and drop collections. */
  canAdmin(collection?: string): boolean {
    return this.who?.role === 'admin' && (collection === undefined || inScope(this.who.collections, collection));
  }

  setWho(who: WhoAmI | undefined): void {
    this.who = who;
    this.dispatchEvent(new Event('who'));
  }

  /** Reloads the list; keeps the selection when it still exists, else picks the first collection. */
  async reloadCollections(): Promise<CollectionSummary[]> {
    this.collections = await api.listCollections();
    this.collections.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.dispatchEvent(new Event('collections'));
    if (this.selected === undefined || !this.collections.some((c) => c.name === this.selected)) this.select(this.collections[0]?.name);
    return this.collections;
  }

  select(name: string | undefined): void {
    if (name === this.selected) return;
    this.selected = name;
    this.dispatchEvent(new Event('selected'));
  }

  get selectedSummary(): CollectionSummary | undefined {
    return this.collections.find((c) => c.name === this.selected);
  }
}

function inScope(collections: readonly string[], name: string): boolean {
  return collections.includes('*') || collections.includes(name);
}

/** A view of the console: a section shown when its tab is chosen. */
export interface View {
  readonly id: string;
  readonly title: string;
  readonly element: HTMLElement;
  /** Called when the view becomes visible (load or refresh its data). */
  show(): void;
  /** Called when another view is chosen (stop polling). */
  hide(): void;
}
