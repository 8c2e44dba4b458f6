// The DOM around the canvas: join screen, status screens, leaderboard,
// health and dash, respawn countdown, and the network overlay.

const $ = (id) => document.getElementById(id);

const escapeHtml = (s) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const fixed = (v, digits = 0) => (v === null || v === undefined ? '–' : v.toFixed(digits));

export class Hud {
  constructor() {
    this.netVisible = false;
    this.lastNet = 0;
  }

  /** The join screen: ready (or not) to play. */
  showJoin(ready, error = '') {
    $('join').hidden = false;
    $('status').hidden = true;
    $('hud').hidden = true;
    $('play').disabled = !ready;
    $('play').textContent = ready ? 'Play' : 'Loading…';
    $('join-error').textContent = error;
    if (ready) $('name').focus();
  }

  /** A status card over the game: connecting, or a disconnect with a button. */
  showStatus(title, detail, action) {
    $('join').hidden = true;
    $('status').hidden = false;
    $('status-title').textContent = title;
    $('status-detail').textContent = detail;
    const button = $('status-action');
    button.hidden = !action;
    if (action) {
      button.textContent = action === 'reload' ? 'Reload the page' : 'Rejoin';
      button.dataset.action = action;
      button.focus();
    }
  }

  /** In the game. */
  showGame() {
    $('join').hidden = true;
    $('status').hidden = true;
    $('hud').hidden = false;
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
