/**
 * The seller's own top-clients editor, `/me/top-clients`: add, remove, reorder and edit clients. Reads go to the
 * source of truth with `Cache-Control: no-cache`; every mutation answers with the new state, which is shown at once.
 * A note then follows each change of the list to the seller's gig pages (gigPagesVisibility.ts): it hears every list
 * gigs applies for the seller, subscribed over graphql-ws from the moment the editor opens.
 */
import { el } from '../element.js';
import { mutate, query, RequestFailed, type GraphQLResult } from '../graphql.js';
import { GigPagesVisibility, type GigPagesNote } from '../gigPagesVisibility.js';
import { liveUpdates } from '../liveUpdates.js';
import type { Client } from '../model.js';
import type { OperationName } from '../operations.js';
import { signIn, signOut, signedInSeller } from '../session.js';
import { clientLogo } from '../topClientsSection.js';

/** A list gigs applied, as GigPagesUpdated reports it (the client IDs are all the note needs). */
interface GigPagesUpdatedData {
  gigPagesUpdated: { appliedAt: string; seller: { topClients: { id: string }[] | null } };
}

const SELLER_ID = /^s\d+$/;

export async function renderEditorPage(root: HTMLElement): Promise<void> {
  document.title = 'My top clients · gigs';
  const sellerId = signedInSeller();
  if (!sellerId) return renderSignIn(root);
  const editor = new TopClientsEditor(root, sellerId);
  await editor.load();
}

function renderSignIn(root: HTMLElement, problem?: string): void {
  const input = el('input', { name: 'sellerId', placeholder: 's1', required: true, autocomplete: 'username', 'aria-label': 'Seller id' });
  root.replaceChildren(el('section', { class: 'editor sign-in' },
    el('h1', {}, 'My top clients'),
    el('p', { class: 'quiet' }, 'Sign in as a seller to edit the clients shown on your gigs and profile.'),
    el('form', {
      'data-testid': 'sign-in',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!SELLER_ID.test(value)) return renderSignIn(root, `“${value}” is not a seller id; seller ids look like s1 or s42.`);
        void signIn(value).then(() => renderEditorPage(root));
      },
    }, el('label', {}, 'Sign in as seller ', input), el('button', { type: 'submit' }, 'Sign in')),
    problem ? el('p', { class: 'form-error', role: 'alert' }, problem) : null));
  input.focus();
}

class TopClientsEditor {
  private clients: Client[] = [];
  private editing: string | null = null;
  private message: { text: string; kind: 'error' | 'info' } | null = null;
  private readonly gigPages = new GigPagesVisibility();
  /** Updated in place, so a report from gigs does not redraw the editor under the seller's hands. */
  private readonly gigPagesNote = el('p', { class: 'form-info', role: 'status', 'data-testid': 'gig-pages-note', hidden: true });
  private stopWatching = () => {};

  constructor(private readonly root: HTMLElement, private readonly sellerId: string) {}

  async load(): Promise<void> {
    // Once, before any change can be made: a list gigs applies between a change and a later subscription would be missed.
    this.stopWatching = liveUpdates<GigPagesUpdatedData>('GigPagesUpdated', { sellerId: this.sellerId }, {
      sellerId: this.sellerId,
      onResult: (result) => {
        const applied = result.data?.gigPagesUpdated;
        if (!applied) return;
        this.gigPages.applied({ ids: applied.seller.topClients?.map((c) => c.id) ?? null, appliedAt: applied.appliedAt });
        this.showGigPagesNote();
      },
      onInterrupted: () => {
        this.gigPages.interrupted();
        this.showGigPagesNote();
      },
      onEnded: () => {
        this.gigPages.end();
        this.showGigPagesNote();
      },
    });
    this.root.replaceChildren(el('p', { class: 'quiet loading' }, 'Loading…'));
    const result = await this.run(() => query<{ myTopClients: Client[] }>('MyTopClients', {}, { sellerId: this.sellerId, noCache: true }));
    if (result?.data?.myTopClients) this.clients = result.data.myTopClients;
    else if (!this.message) this.message = { text: 'Your top clients could not be loaded right now.', kind: 'error' };
    this.render();
  }

  private async change(name: OperationName, field: string, variables: Record<string, unknown>): Promise<void> {
    const before = this.clients.map((c) => c.id);
    const mark = this.gigPages.sending();
    const result = await this.run(() => mutate<Record<string, Client[]>>(name, variables, { sellerId: this.sellerId }));
    const list = result?.data?.[field];
    if (list) {
      this.clients = list;
      this.message = null;
      this.gigPages.saved(mark, before, list.map((c) => c.id));
      this.showGigPagesNote();
    }
    this.render();
  }

  private async update(id: string, input: Record<string, string>): Promise<void> {
    const result = await this.run(() => mutate<{ updateClient: Client }>('UpdateClient', { id, input }, { sellerId: this.sellerId }));
    const updated = result?.data?.updateClient;
    if (updated) {
      this.clients = this.clients.map((c) => (c.id === updated.id ? updated : c));
      this.editing = null;
      // Not a change of the list: gigs copies only IDs, and the pages read a client's details from topclients itself.
      this.message = { text: `Saved ${updated.name}. Your gig pages read it from here: open ones update by themselves.`, kind: 'info' };
    }
    this.render();
  }

  /** Runs a request; a GraphQL error or a failed request becomes the message above the list. */
  private async run<T>(send: () => Promise<GraphQLResult<T>>): Promise<GraphQLResult<T> | null> {
    try {
      const result = await send();
      const error = result.errors?.[0];
      if (error) this.message = { text: error.message, kind: 'error' };
      return result;
    } catch (error) {
      if (!(error instanceof RequestFailed)) throw error;
      this.message = { text: error.message, kind: 'error' };
      return null;
    }
  }

  private showGigPagesNote(): void {
    const note = this.gigPages.note;
    this.gigPagesNote.hidden = note.kind === 'none';
    this.gigPagesNote.replaceChildren(...gigPagesNoteText(note));
  }

  private render(): void {
    const addInput = el('input', { name: 'clientId', placeholder: 'c12', required: true, 'aria-label': 'Client id to add' });
    this.root.replaceChildren(el('section', { class: 'editor', 'data-testid': 'editor' },
      el('div', { class: 'editor-head' },
        el('h1', {}, 'My top clients'),
        el('p', { class: 'quiet' }, `Signed in as seller ${this.sellerId} `,
          el('button', { type: 'button', class: 'link', onclick: () => { this.stopWatching(); signOut(); renderSignIn(this.root); } }, 'Sign out'))),
      this.message ? el('p', { class: this.message.kind === 'error' ? 'form-error' : 'form-info', role: 'status', 'data-testid': 'editor-message' }, this.message.text) : null,
      this.gigPagesNote,
      this.clients.length === 0
        ? el('p', { class: 'quiet' }, 'Your list is empty. Add a client below.')
        : el('ol', { class: 'editor-list', 'data-testid': 'editor-list' }, this.clients.map((client, index) => this.row(client, index))),
      el('form', {
        class: 'add-client',
        onsubmit: (event: Event) => {
          event.preventDefault();
          const clientId = addInput.value.trim();
          if (clientId) void this.change('AddTopClient', 'addTopClient', { clientId });
        },
      }, el('label', {}, 'Add a client by id ', addInput), el('button', { type: 'submit' }, 'Add'))));
  }

  private row(client: Client, index: number): HTMLElement {
    if (this.editing === client.id) return this.editRow(client);
    const ids = this.clients.map((c) => c.id);
    const move = (to: number) => {
      const order = [...ids];
      order.splice(index, 1);
      order.splice(to, 0, client.id);
      void this.change('ReorderTopClients', 'reorderTopClients', { clientIds: order });
    };
    return el('li', { class: 'editor-row', 'data-client-id': client.id },
      clientLogo(client),
      el('div', { class: 'client-text' },
        el('span', { class: 'client-name' }, client.name, client.verified ? el('span', { class: 'verified', title: 'Verified' }, ' ✓') : null),
        el('span', { class: 'client-industry' }, [client.industry, client.website].filter(Boolean).join(' · '))),
      el('div', { class: 'row-actions' },
        el('button', { type: 'button', 'aria-label': `Move ${client.name} up`, disabled: index === 0, onclick: () => move(index - 1) }, '↑'),
        el('button', { type: 'button', 'aria-label': `Move ${client.name} down`, disabled: index === ids.length - 1, onclick: () => move(index + 1) }, '↓'),
        el('button', { type: 'button', onclick: () => { this.editing = client.id; this.message = null; this.render(); } }, 'Edit'),
        el('button', { type: 'button', class: 'danger', onclick: () => void this.change('RemoveTopClient', 'removeTopClient', { clientId: client.id }) }, 'Remove')));
  }

  private editRow(client: Client): HTMLElement {
    const field = (name: 'name' | 'industry' | 'website', label: string) =>
      el('label', {}, label, el('input', { name, value: client[name] ?? '', required: name === 'name' }));
    const form = el('form', {
      class: 'edit-client',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(form);
        const input: Record<string, string> = {};
        for (const key of ['name', 'industry', 'website'] as const) {
          const value = String(data.get(key) ?? '').trim();
          if (value !== (client[key] ?? '')) input[key] = value;
        }
        if (Object.keys(input).length === 0) {
          this.editing = null;
          this.render();
          return;
        }
        void this.update(client.id, input);
      },
    }, field('name', 'Name'), field('industry', 'Industry'), field('website', 'Website'),
    el('div', { class: 'row-actions' },
      el('button', { type: 'submit' }, 'Save'),
      el('button', { type: 'button', onclick: () => { this.editing = null; this.render(); } }, 'Cancel')));
    return el('li', { class: 'editor-row editing', 'data-client-id': client.id }, clientLogo(client), form);
  }
}

function gigPagesNoteText(note: GigPagesNote): (string | HTMLElement)[] {
  switch (note.kind) {
    case 'none': return [];
    case 'updating': return ['Saved — updating your gig pages…'];
    case 'visible': return ['Visible on your gig pages since ', el('time', { datetime: note.appliedAt }, new Date(note.appliedAt).toLocaleTimeString())];
    case 'unknown': return ['Saved. Whether your gig pages show it yet cannot be told right now.'];
  }
}
