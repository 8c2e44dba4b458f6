// The DOM around the canvas: join screen (with its rooms), status screens,
// the reconnecting overlay, leaderboard, room and invite link, health and
// dash, respawn countdown, and the network overlay.

const $ = (id) => document.getElementById(id);

const escapeHtml = (s) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** The words on a status card's button, by the action the client names. */
const ACTION_LABELS = {
  rejoin: 'Rejoin',
  reload: 'Reload the page',
  lobby: 'Back to the rooms',
  join_new: 'Join as a new player',
};

const fixed = (v, digits = 0) => (v === null || v === undefined ? '–' : v.toFixed(digits));

export class Hud {
  constructor() {
    this.netVisible = false;
    this.lastNet = 0;
    this.ready = false;
    this.chosen = null; // the room the page address asks for
  }

  /** The join screen: ready (or not) to play. */
  showJoin(ready, error = '') {
    this.ready = ready;
    $('join').hidden = false;
    $('status').hidden = true;
    $('hud').hidden = true;
    $('reconnecting').hidden = true;
    for (const id of ['play', 'create', 'join-room']) $(id).disabled = !ready;
    this.chooseRoom(this.chosen);
    $('join-error').textContent = error;
    if (ready) $('name').focus();
  }

  /** The room Play joins: `id`, or null for quick play (any room with space). */
  chooseRoom(id) {
    this.chosen = id;
    $('play').textContent = !this.ready ? 'Loading…' : id === null ? 'Quick play' : `Join room ${id}`;
    $('chosen-room').hidden = id === null;
    $('chosen-room-id').textContent = id === null ? '' : String(id);
  }

  /** A line under the join buttons, e.g. for a room id that is not one. */
  joinError(text) {
    $('join-error').textContent = text;
  }

  /** The open rooms: rows from the client (`{id, players, capacity, full, label}`), or an error. */
  rooms(rows, error = '') {
    const list = $('rooms');
    list.replaceChildren(
      ...(rows ?? []).map((r) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'room';
        b.dataset.room = String(r.id);
        b.textContent = r.full ? `${r.label} · full` : r.label;
        b.disabled = r.full || !this.ready;
        li.append(b);
        return li;
      }),
    );
    $('rooms-note').textContent = error || (rows && rows.length === 0 ? 'No rooms yet: quick play or create one.' : '');
  }

  /** A status card over the game: connecting, or a disconnect with a button. */
  showStatus(title, detail, action) {
    $('join').hidden = true;
    $('reconnecting').hidden = true;
    $('status').hidden = false;
    $('status-title').textContent = title;
    $('status-detail').textContent = detail;
    const button = $('status-action');
    button.hidden = !action;
    // A way back to the join screen whenever the way forward is joining again.
    $('status-lobby').hidden = !['rejoin', 'join_new'].includes(action);
    if (action) {
      button.textContent = ACTION_LABELS[action] ?? 'Rejoin';
      button.dataset.action = action;
      button.focus();
    }
  }

  /** The game stays on screen under a note that the page is reconnecting. */
  showReconnecting(attempt, secondsLeft) {
    $('join').hidden = true;
    $('status').hidden = true;
    $('hud').hidden = false;
    $('reconnecting').hidden = false;
    $('reconnect-attempt').textContent = String(attempt);
    $('reconnect-detail').textContent =
      secondsLeft > 0
        ? `The connection dropped; the server keeps your player for about ${Math.ceil(secondsLeft)} s more.`
        : 'The connection dropped.';
  }

  /** In the game. */
  showGame() {
    $('join').hidden = true;
    $('status').hidden = true;
    $('reconnecting').hidden = true;
    $('hud').hidden = false;
  }

  /** The room being played, and the link that brings a friend into it. */
  room(id, link) {
    $('room-id-text').textContent = String(id);
    $('copy-invite').dataset.link = link;
    $('invite-link').value = link;
    $('invite-note').textContent = '';
  }

  /** After "copy invite link": copied, or shown selected for copying by hand. */
  inviteCopied(copied) {
    const field = $('invite-link');
    field.hidden = copied;
    $('invite-note').textContent = copied ? 'Link copied' : 'Copy this link:';
    if (!copied) {
      field.focus();
      field.select();
    }
  }

  toggleNet() {
    this.netVisible = !this.netVisible;
    $('net').hidden = !this.netVisible;
  }

  leaderboard(players, entries) {
    $('players').textContent = `· ${players} playing`;
    $('leaders').innerHTML = entries
      .map(
        (e) =>
          `<li class="${e.me ? 'me' : ''}"><span class="swatch" style="background:hsl(${e.hue},70%,55%)"></span>` +
          `${escapeHtml(e.name || '?')}<span class="score">${e.score}</span></li>`,
      )
      .join('');
  }

  /** Per-frame updates from the render state. */
  frame(state, now) {
    const me = state.me;
    if (me) {
      const health = Math.max(0, Math.min(100, me.health));
      $('health-bar').style.width = `${health}%`;
      $('health-bar').style.background = health > 50 ? '#5be38c' : health > 25 ? '#ffc14d' : '#ff5d6c';
      $('health-text').textContent = `${health}`;
      $('dash-bar').style.width = `${Math.round(me.dash_ready * 100)}%`;
      $('score-text').textContent = `${me.score} pts`;
      $('respawn').hidden = me.alive;
      if (!me.alive) $('respawn-time').textContent = me.respawn_in.toFixed(1);
    }
    if (this.netVisible && now - this.lastNet > 200) {
      this.lastNet = now;
      const n = state.net;
      const pending = n.pending_inputs;
      $('net').innerHTML = [
        `rtt            ${fixed(n.rtt_ms, 0)} ms`,
        `snapshots/s    ${fixed(n.snapshots_per_s)}`,
        `down           ${fixed(n.kbps_down, 1)} kbit/s`,
        `up             ${fixed(n.kbps_up, 1)} kbit/s`,
        `interp delay   ${fixed(n.interp_delay_ms, 0)} ms`,
        `corrections/s  ${fixed(n.corrections_per_s)}  (${n.corrections} total)`,
        `inputs in air  ${pending}`,
        `desyncs        ${n.desyncs ? `<span class="bad">${n.desyncs}</span>` : 0}`,
        `entities       ${state.entities.length + (me ? 1 : 0)}   tick ${state.tick}`,
      ].join('\n');
    }
  }
}
