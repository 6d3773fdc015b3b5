// The console's shell: the API key form, who the key is, the collection picker, and tabs switched by the URL's hash.
import { api, apiKey, VecStoreError } from './api.js';
import { CollectionsView, errorText } from './collections-view.js';
import { h, replace, statusArea } from './dom.js';
import { LiveView } from './live-view.js';
import { RecordsView } from './records-view.js';
import { SearchView } from './search-view.js';
import { SnapshotsView } from './snapshots-view.js';
import { ConsoleState, type View } from './state.js';

const KEY_NAMES = { admin: 'an admin key', write: 'a write key', read: 'a read-only key' } as const;
const state = new ConsoleState();
const search = new SearchView(state);
const views: View[] = [new CollectionsView(state), new RecordsView(state), search, new LiveView(), new SnapshotsView(state)];

const identity = statusArea();
const authError = statusArea('alert');
const keyInput = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', spellcheck: false });
const forget = h('button', { type: 'button', onclick: () => void useKey('') }, 'Forget key');
const picker = h('select', { id: 'collection-picker', onchange: () => state.select(picker.value || undefined) });
const nav = h('nav', { 'aria-label': 'Views' }, h('ul', {}, ...views.map((v) => h('li', {}, h('a', { href: `#${v.id}`, id: `tab-${v.id}` }, v.title)))));

document.body.append(
  h('header', {},
    h('h1', {}, 'VecStore'),
    h('form', {
      class: 'key-form', 'aria-label': 'Sign in with an API key',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void useKey(keyInput.value.trim());
      },
    },
    h('label', { for: 'api-key' }, 'API key'), keyInput, h('button', { type: 'submit' }, 'Use key'), forget),
    identity,
    h('div', { class: 'picker' }, h('label', { for: 'collection-picker' }, 'Collection'), picker),
  ),
  nav,
  h('main', { id: 'main' }, authError, ...views.map((v) => v.element)),
);

state.addEventListener('collections', renderPicker);
state.addEventListener('selected', renderPicker);
document.addEventListener('find-similar', (e) => {
  location.hash = '#search';
  search.searchFrom((e as CustomEvent<{ id: string }>).detail.id);
});
window.addEventListener('hashchange', showView);

function renderPicker(): void {
  // Rebuilt only when the names change (the list is reloaded every few seconds, perhaps while the picker is open).
  const names = state.collections.map((c) => c.name);
  if (names.join('\n') !== [...picker.options].map((o) => o.value).join('\n')) {
    replace(picker, ...names.map((name) => h('option', { value: name }, name)));
  }
  picker.value = state.selected ?? '';
  picker.disabled = names.length === 0;
}

let current: View | undefined;
function showView(): void {
  const wanted = views.find((v) => `#${v.id}` === location.hash) ?? views[0];
  if (wanted === current) return;
  current?.hide();
  for (const v of views) {
    v.element.hidden = v !== wanted;
    const tab = document.getElementById(`tab-${v.id}`);
    if (v === wanted) tab?.setAttribute('aria-current', 'page');
    else tab?.removeAttribute('aria-current');
  }
  current = wanted;
  if (state.who) wanted.show();
}

/** Stores the key for this tab (or forgets it), asks the server who it is, and reloads everything. */
async function useKey(key: string): Promise<void> {
  if (key === '') apiKey.clear();
  else apiKey.set(key);
  keyInput.value = '';
  await identify();
}

async function identify(): Promise<void> {
  replace(authError);
  try {
    const who = await api.whoami();
    if (who.role === null) {
      state.setWho(undefined);
      replace(identity);
      replace(authError, 'This server needs an API key: type it above (kept for this tab only, sent as a header).');
      keyInput.focus();
      return;
    }
    const scope = who.collections.includes('*') ? 'every collection' : `collections ${who.collections.join(', ')}`;
    replace(identity, who.auth ? `Signed in with ${KEY_NAMES[who.role]} for ${scope}.` : 'Open server: no API keys are configured.');
    forget.hidden = !who.auth;
    state.setWho(who);
    await state.reloadCollections();
    current?.show();
  } catch (err) {
    state.setWho(undefined);
    replace(identity);
    const needsKey = err instanceof VecStoreError && err.status === 401;
    replace(authError, needsKey ? 'That API key was refused: type another one above.' : errorText(err));
    if (needsKey) keyInput.focus();
  }
}

showView();
void identify();
