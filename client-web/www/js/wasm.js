// Loads the client (Rust compiled to wasm32) and wraps its raw exports.
// Bytes cross through two buffers in wasm memory: the input buffer (we write)
// and the output buffer (we read). See client-web/src/ffi.rs.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `join` modes: a new player, the player's own Rejoin, the page reconnecting on its own. */
const JOIN_MODES = { fresh: 0, rejoin: 1, auto: 2 };

/** Thrown when the wasm module trapped (a Rust panic); the client is unusable after it. */
export class ClientCrash extends Error {}

/** Fetches and instantiates the client; resolves to a {@link Client}. */
export async function loadClient(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`could not load the game client (${url}): HTTP ${response.status}`);
  }
  const bytes = await response.arrayBuffer();
  const { instance } = await WebAssembly.instantiate(bytes, {});
  return new Client(instance.exports);
}

/** The game client in wasm: one game (connection) at a time. */
export class Client {
  constructor(exports) {
    this.x = exports;
    this.crashed = null;
    this.x.tw_init();
  }

  // Runs a call into wasm, turning a trap into a ClientCrash with the panic message.
  call(fn) {
    if (this.crashed) throw this.crashed;
    try {
      return fn();
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) {
        let message = err.message;
        try {
          const len = this.x.tw_panic_message();
          if (len > 0) message = decoder.decode(this.output(len));
        } catch (_) {
          // the module is beyond asking; keep the trap's own message
        }
        this.crashed = new ClientCrash(`the game client crashed: ${message}`);
        throw this.crashed;
      }
      throw err;
    }
  }

  text(len) {
    return decoder.decode(this.output(len));
  }

  input(bytes) {
    const ptr = this.x.tw_input_buffer(bytes.length);
    new Uint8Array(this.x.memory.buffer, ptr, bytes.length).set(bytes);
    return bytes.length;
  }

  output(len) {
    return new Uint8Array(this.x.memory.buffer, this.x.tw_output_ptr(), len);
  }

  json(len) {
    return JSON.parse(this.text(len));
  }

  /** `{keys: {code: bit}, fire: bit}`. */
  keymap() {
    return this.call(() => this.json(this.x.tw_keymap()));
  }

  // Two strings into the input buffer, one after the other; returns their byte lengths.
  inputPair(a, b) {
    const first = encoder.encode(a);
    const second = encoder.encode(b);
    const both = new Uint8Array(first.length + second.length);
    both.set(first);
    both.set(second, first.length);
    this.input(both);
    return [first.length, second.length];
  }

  /**
   * Starts a game. Options: `protocolVersion` overrides the announced version,
   * `room` is a room id, `'create'` for a new room, or absent for any room
   * with space; `token` a join token; `mode` is `'fresh'` (a new player),
   * `'rejoin'` (take back the player of the last game if it dropped
   * recently) or `'auto'` (the same, when the page reconnects on its own).
   */
  join(name, { protocolVersion, room, token, mode = 'fresh' } = {}, now = performance.now()) {
    this.call(() => {
      const [nameLen, tokenLen] = this.inputPair(name, token ?? '');
      const roomArg = room === 'create' ? -2n : Number.isInteger(room) && room >= 0 ? BigInt(room) : -1n;
      this.x.tw_join(nameLen, tokenLen, protocolVersion ?? -1, roomArg, JOIN_MODES[mode] ?? 0, now);
    });
  }

  opened() {
    this.call(() => this.x.tw_opened());
  }

  /** Feeds a server message; false when the server broke the protocol. */
  receive(bytes, now) {
    return this.call(() => {
      const len = this.input(bytes);
      return this.x.tw_receive(len, now) === 0;
    });
  }

  /** Pushes the inputs due at `now`; returns how many. */
  update(now, buttons, aimDx, aimDy) {
    return this.call(() => this.x.tw_update(now, buttons, aimDx, aimDy));
  }

  /** The next message to send (a copy), or null. */
  transmit(now) {
    return this.call(() => {
      const len = this.x.tw_transmit(now);
      return len < 0 ? null : this.output(len).slice();
    });
  }

  events() {
    return this.call(() => this.json(this.x.tw_events()));
  }

  render(now) {
    return this.call(() => this.json(this.x.tw_render(now)));
  }

  /**
   * The socket closed. Returns what to do next: `{plan: 'retry', attempt,
   * delay_ms}`, `{plan: 'gave_up', window_ms}` or `{plan: 'stop'}`.
   */
  closed(code, reason, now) {
    return this.call(() => {
      const len = this.input(encoder.encode(reason || ''));
      return this.json(this.x.tw_closed(code, len, now, Math.random()));
    });
  }

  /** `{reconnecting, attempt, deadline_ms}`. */
  reconnectState() {
    return this.call(() => this.json(this.x.tw_reconnect_state()));
  }

  /** The room the page address asks for (`#room=7`, or `?room=7`), or null. */
  roomFromAddress(search, hash) {
    return this.call(() => {
      const [searchLen, hashLen] = this.inputPair(search, hash);
      const room = this.x.tw_room_from_address(searchLen, hashLen);
      return room < 0n ? null : Number(room);
    });
  }

  /** A room id the player typed, or null when it is not one. */
  parseRoomId(text) {
    return this.call(() => {
      const room = this.x.tw_parse_room_id(this.input(encoder.encode(text)));
      return room < 0n ? null : Number(room);
    });
  }

  /** The link that brings a friend into `room`. */
  inviteLink(origin, room) {
    return this.call(() => this.text(this.x.tw_invite_link(this.input(encoder.encode(origin)), room)));
  }

  /** The join screen's rows from the body of `GET /rooms`: `{rooms: [...]}` or `{error}`. */
  roomRows(body) {
    return this.call(() => this.json(this.x.tw_room_rows(this.input(encoder.encode(body)))));
  }

  errors() {
    if (this.crashed) return [this.crashed.message];
    return this.call(() => this.json(this.x.tw_errors()));
  }
}
