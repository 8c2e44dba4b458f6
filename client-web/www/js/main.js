// The page: loads the wasm client, joins, reconnects after a drop, runs the
// frame loop, and exposes window.tickwire for tests. The game logic
// (protocol, prediction, interpolation, input clock, when and how to
// reconnect) lives in wasm; this file only wires it up.

import { Renderer } from './draw.js';
import { Hud } from './hud.js';
import { Input } from './input.js';
import { Lobby } from './lobby.js';
import { Connection, socketUrl } from './net.js';
import { loadClient } from './wasm.js';

const MAX_TRACE = 20_000;
/** A reconnect attempt that has not been welcomed by then counts as failed, ms. */
const ATTEMPT_TIMEOUT_MS = 5000;

const canvas = document.getElementById('game');
const params = new URLSearchParams(location.search);
// #room=N (or ?room=N) picks the room; ?token=T presents a join token;
// ?protocol=N announces another protocol version (to see what a version
// mismatch shows).
const joinOptions = {
  protocolVersion: params.has('protocol') ? Number(params.get('protocol')) : undefined,
  token: params.get('token') ?? undefined,
};

const errors = []; // uncaught errors, for window.tickwire.debug()
addEventListener('error', (e) => errors.push(String(e.message || e.error)));
addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)));

const renderer = new Renderer(canvas);
const hud = new Hud();
let client = null;
let input = null;
let lobby = null;
let conn = null;
let welcome = null; // this connection's Welcome
let lastWelcome = null; // the last Welcome of this player, kept while reconnecting
let lastRoom; // the room asked for last: an id, 'create', or undefined (quick play)
let inviteLink = null;
let reconnectAttempt = 0; // the attempt under way or next; 0 when not reconnecting
let retryTimer = null;
let attemptTimer = null;
let frozen = null; // the last frame drawn in the game, kept on screen while reconnecting
let playerName = '';
let lastFrame = 0;
let frames = 0;
let trace = null;

function frame() {
  requestAnimationFrame(frame);
  // performance.now() rather than the frame's timestamp: every call into the
  // client then sees one clock that never runs backwards.
  const now = performance.now();
  lastFrame = now;
  frames += 1;
  let state = null;
  if (client && conn && !client.crashed) {
    try {
      pump(now);
      state = client.render(now);
    } catch (err) {
      crash(err);
    }
  }
  if (reconnectAttempt > 0 && !welcome) {
    renderer.draw(frozen, now); // the game stays in view under the overlay
    return;
  }
  renderer.draw(state, now);
  if (state) {
    hud.frame(state, now);
    if (welcome) frozen = state;
    if (trace && trace.length < MAX_TRACE) record(state, now);
  }
}

// Inputs due on the 60 Hz clock, timers, outgoing messages, events.
function pump(now) {
  if (conn.open && welcome) {
    const p = renderer.playerScreen();
    const aim = input.aimFrom(p.x, p.y);
    client.update(now, input.buttons(), aim.dx, aim.dy);
  }
  flush(now);
  handleEvents();
}

function flush(now) {
  if (!conn.open) return;
  for (let bytes = client.transmit(now); bytes; bytes = client.transmit(now)) conn.send(bytes);
}

function handleEvents() {
  for (const e of client.events()) {
    switch (e.type) {
      case 'welcome':
        welcomed(e);
        break;
      case 'leaderboard':
        hud.leaderboard(e.players, e.entries);
        break;
      case 'notice':
        console.warn(`server notice (${e.code}): ${e.message}`);
        break;
      case 'error':
        console.warn(`tickwire: ${e.message}`);
        break;
    }
  }
}

function welcomed(e) {
  welcome = e;
  lastWelcome = e;
  lastRoom = e.room;
  reconnectAttempt = 0;
  clearTimeout(attemptTimer);
  input.enabled = true;
  // The address names the room, so a reload (or a friend) joins it.
  inviteLink = client.inviteLink(location.origin, e.room);
  const here = new URL(location.href);
  here.hash = new URL(inviteLink).hash;
  history.replaceState(null, '', here);
  hud.chooseRoom(e.room);
  hud.room(e.room, inviteLink);
  hud.showGame();
}

/**
 * Starts a game as `name`. `room`: an id, 'create', or undefined for any room
 * with space. `mode`: 'fresh' (a new player), 'rejoin' (the player's own
 * Rejoin: take back the dropped player if the server still holds it) or
 * 'auto' (the page reconnecting on its own).
 */
function join(name, { room, mode = 'fresh' } = {}) {
  if (conn) conn.close(1000, 'rejoining');
  clearTimeout(retryTimer);
  clearTimeout(attemptTimer);
  playerName = name;
  try {
    localStorage.setItem('tickwire.name', name);
  } catch (_) {
    // storage may be off; the name is only a convenience
  }
  if (mode === 'fresh') lastWelcome = null;
  if (mode !== 'auto') reconnectAttempt = 0;
  lastRoom = room;
  welcome = null;
  input.release();
  input.enabled = false;
  client.join(name, { ...joinOptions, room, mode }, performance.now());
  if (mode !== 'auto') {
    const where = room === 'create' ? ' in a new room' : Number.isInteger(room) ? ` in room ${room}` : '';
    hud.showStatus('Connecting…', `Joining as ${name}${where}`, null);
  }
  const attempt = new Connection(socketUrl(), {
    onOpen() {
      if (conn !== attempt) return;
      client.opened();
      flush(performance.now());
    },
    onMessage(bytes) {
      if (conn !== attempt || client.crashed) return;
      try {
        if (!client.receive(bytes, performance.now())) attempt.close(4002, 'protocol error');
        handleEvents();
        flush(performance.now());
      } catch (err) {
        crash(err);
      }
    },
    onClose(code, reason) {
      ended(attempt, code, reason);
    },
  });
  conn = attempt;
  if (mode === 'auto') {
    // A socket that neither fails nor answers must not stall the retries.
    attemptTimer = setTimeout(() => {
      if (conn !== attempt || welcome) return;
      attempt.abandon();
      ended(attempt, 1006, 'no answer');
    }, ATTEMPT_TIMEOUT_MS);
  }
}

/** A connection ended: reconnect on a backoff, or say what happened. */
function ended(attempt, code, reason) {
  if (conn !== attempt || client.crashed) return;
  clearTimeout(attemptTimer);
  welcome = null;
  input.release();
  input.enabled = false;
  let plan;
  try {
    plan = client.closed(code, reason, performance.now());
  } catch (err) {
    crash(err);
    return;
  }
  if (plan.plan === 'retry') {
    reconnectAttempt = plan.attempt;
    const { deadline_ms: deadline } = client.reconnectState();
    hud.showReconnecting(plan.attempt, deadline ? (deadline - performance.now()) / 1000 : 0);
    retryTimer = setTimeout(() => join(playerName, { room: lastRoom, mode: 'auto' }), plan.delay_ms);
    return;
  }
  reconnectAttempt = 0;
  const s = client.render(performance.now()).status;
  hud.showStatus(s.title, s.detail, s.action);
  if (s.auto_rejoin) joinAgain();
}

/**
 * Joins as a new player, back in the last room if it still has space, else
 * in any room with space (a restarted server has none of the old rooms).
 */
async function joinAgain() {
  let room = Number.isInteger(lastRoom) ? lastRoom : undefined;
  if (room !== undefined) {
    const rows = await lobby.refresh();
    if (!rows?.some((r) => r.id === room && !r.full)) room = undefined;
  }
  join(playerName, { room });
}

/** Back to the join screen, for another room. */
function toLobby() {
  if (conn) conn.close(1000, 'left');
  conn = null;
  clearTimeout(retryTimer);
  clearTimeout(attemptTimer);
  reconnectAttempt = 0;
  welcome = null;
  lobby.choose(null);
  lobby.show();
}

async function copyInvite() {
  const link = inviteLink;
  let copied = false;
  try {
    // Some browsers never settle the promise without permission: do not wait long.
    copied = await Promise.race([
      navigator.clipboard.writeText(link).then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 1000)),
    ]);
  } catch (_) {
    copied = false;
  }
  hud.inviteCopied(copied);
}

function crash(err) {
  errors.push(String(err.message || err));
  console.error(err);
  if (conn) conn.close(1000, 'client error');
  clearTimeout(retryTimer);
  clearTimeout(attemptTimer);
  reconnectAttempt = 0;
  hud.showStatus('The game client stopped', String(err.message || err), 'reload');
}

// Keeps inputs, acks and pings flowing while animation frames are paused
// (a hidden tab); the input clock skips what it cannot catch up.
function backgroundPump() {
  const now = performance.now();
  if (now - lastFrame > 250 && client && conn && !client.crashed) {
    try {
      pump(now);
    } catch (err) {
      crash(err);
    }
  }
}

function record(state, now) {
  const players = {};
  for (const e of state.entities) if (e.kind === 'player') players[e.id] = [e.x, e.y];
  trace.push({ t: now, me: state.me ? [state.me.x, state.me.y] : null, players });
}

/** State for tests and the curious: what is drawn, and how the network is doing. */
function debug() {
  const now = performance.now();
  let s = null;
  if (client && conn && !client.crashed) {
    try {
      s = client.render(now);
    } catch (err) {
      crash(err);
    }
  }
  const n = s?.net;
  const r = client && !client.crashed ? client.reconnectState() : null;
  return {
    connected: !!(conn && conn.open && s?.status.phase === 'playing'),
    phase: s ? s.status.phase : client ? 'join' : 'loading',
    status: s?.status ?? null,
    name: playerName,
    id: (welcome ?? lastWelcome)?.player ?? null,
    room: (welcome ?? lastWelcome)?.room ?? null,
    resumed: (welcome ?? lastWelcome)?.resumed ?? false,
    invite: inviteLink,
    reconnect: { reconnecting: r?.reconnecting ?? false, attempt: r?.attempt ?? 0, deadlineMs: r?.deadline_ms ?? null },
    me: s?.me
      ? { id: s.me.id, x: s.me.x, y: s.me.y, health: s.me.health, alive: s.me.alive, score: s.me.score, aim: s.me.aim, respawnIn: s.me.respawn_in }
      : null,
    position: s?.me ? { x: s.me.x, y: s.me.y } : null,
    arena: s?.arena ?? null,
    view: s?.view ?? null,
    tick: s?.tick ?? 0,
    entities: (s?.entities ?? []).map((e) => ({ id: e.id, kind: e.kind, x: e.x, y: e.y, health: e.health, name: e.name })),
    rtt: n?.rtt_ms ?? null,
    snapshotsPerSecond: n?.snapshots_per_s ?? 0,
    kbpsDown: n?.kbps_down ?? 0,
    kbpsUp: n?.kbps_up ?? 0,
    interpDelayMs: n?.interp_delay_ms ?? 0,
    corrections: n?.corrections ?? 0,
    correctionsPerSecond: n?.corrections_per_s ?? 0,
    desyncs: n?.desyncs ?? 0,
    frames,
    errors: [...errors, ...(client ? client.errors() : [])],
  };
}

window.tickwire = {
  debug,
  /** Where a world point (px) is drawn on screen (CSS px), e.g. to aim the mouse at it. */
  screenOf(x, y) {
    return renderer.toScreen(x, y);
  },
  /** Starts recording what each animation frame draws. */
  startTrace() {
    trace = [];
  },
  /** Stops recording; returns [{t, me: [x, y] | null, players: {id: [x, y]}}]. */
  stopTrace() {
    const t = trace ?? [];
    trace = null;
    return t;
  },
};

async function start() {
  requestAnimationFrame(frame);
  hud.showJoin(false);
  try {
    client = await loadClient('tickwire_client_web.wasm');
  } catch (err) {
    errors.push(String(err.message || err));
    console.error(err);
    hud.showJoin(false, `The game could not start: ${err.message || err}`);
    return;
  }
  input = new Input(client.keymap(), canvas);
  input.onToggle(['F3', 'KeyN'], () => hud.toggleNet());
  const nameInput = document.getElementById('name');
  try {
    nameInput.value = params.get('name') ?? localStorage.getItem('tickwire.name') ?? '';
  } catch (_) {
    nameInput.value = params.get('name') ?? '';
  }
  lobby = new Lobby(client, hud, (name, room) => join(name, { room }));
  const roomInAddress = () => client.roomFromAddress(location.search, location.hash);
  hud.chooseRoom(roomInAddress());
  addEventListener('hashchange', () => {
    if (!document.getElementById('join').hidden) hud.chooseRoom(roomInAddress());
  });
  document.getElementById('status-action').addEventListener('click', (e) => {
    switch (e.currentTarget.dataset.action) {
      case 'reload':
        location.reload();
        break;
      case 'lobby':
        toLobby();
        break;
      case 'join_new':
        joinAgain();
        break;
      default:
        join(playerName, { room: lastRoom, mode: 'rejoin' });
    }
  });
  document.getElementById('status-lobby').addEventListener('click', toLobby);
  document.getElementById('copy-invite').addEventListener('click', (e) => {
    e.currentTarget.blur(); // space dashes; it must not press the button again
    copyInvite();
  });
  addEventListener('pagehide', () => conn?.close(1000, 'page closed'));
  setInterval(backgroundPump, 100);
  lobby.show();
}

start();
