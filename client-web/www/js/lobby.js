// The join screen's choices: quick play, a new room, a room by id, or one of
// the open rooms (GET /rooms, refreshable). Parsing ids and the room list is
// the wasm client's job; this file only wires the DOM.

import { roomsUrl } from './net.js';

const $ = (id) => document.getElementById(id);

/** Refresh the open rooms this often while the join screen shows, ms. */
const REFRESH_MS = 5000;

export class Lobby {
  /**
   * `client` parses ids and room lists; `hud` draws; `onJoin(name, room)`
   * starts a game, `room` being an id, `'create'`, or undefined for quick play.
   */
  constructor(client, hud, onJoin) {
    this.client = client;
    this.hud = hud;
    this.onJoin = onJoin;
    this.loading = null;

    $('join-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.join(hud.chosen ?? undefined);
    });
    $('create').addEventListener('click', () => this.join('create'));
    $('join-room').addEventListener('click', () => this.joinTyped());
    $('room-id').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        this.joinTyped();
      }
    });
    $('rooms').addEventListener('click', (e) => {
      const b = e.target.closest('button.room');
      if (b && !b.disabled) this.join(Number(b.dataset.room));
    });
    $('rooms-refresh').addEventListener('click', () => this.refresh());
    $('forget-room').addEventListener('click', () => this.choose(null));
    setInterval(() => {
      if (!$('join').hidden && this.hud.ready) this.refresh();
    }, REFRESH_MS);
  }

  /** The player's name, or a made-up one. */
  name() {
    const input = $('name');
    input.blur();
    return input.value.trim() || `player${Math.floor(Math.random() * 1000)}`;
  }

  join(room) {
    this.hud.joinError('');
    this.onJoin(this.name(), room);
  }

  joinTyped() {
    const id = this.client.parseRoomId($('room-id').value);
    if (id === null) {
      this.hud.joinError('A room id is a number, like 7.');
      $('room-id').focus();
      return;
    }
    this.join(id);
  }

  /** Play joins room `id` (null: any room with space), and the address says so. */
  choose(id) {
    this.hud.chooseRoom(id);
    if (id === null) {
      const u = new URL(location.href);
      u.hash = '';
      u.searchParams.delete('room');
      history.replaceState(null, '', u);
    }
  }

  /** Shows the join screen again, with a fresh room list. */
  show(error = '') {
    this.hud.showJoin(true, error);
    this.refresh();
  }

  /** Fetches GET /rooms and lists them; at most one fetch at a time. */
  refresh() {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      try {
        const res = await fetch(roomsUrl(), { cache: 'no-store' });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const answer = this.client.roomRows(await res.text());
        this.hud.rooms(answer.rooms ?? [], answer.error ?? '');
        return answer.rooms ?? [];
      } catch (err) {
        this.hud.rooms([], `Could not list the rooms: ${err.message || err}`);
        return null;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }
}
