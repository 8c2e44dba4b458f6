// Loads the client (Rust compiled to wasm32) and wraps its raw exports.
// Bytes cross through two buffers in wasm memory: the input buffer (we write)
// and the output buffer (we read). See client-web/src/ffi.rs.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

  input(bytes) {
    const ptr = this.x.tw_input_buffer(bytes.length);
    new Uint8Array(this.x.memory.buffer, ptr, bytes.length).set(bytes);
    return bytes.length;
  }

  output(len) {
    return new Uint8Array(this.x.memory.buffer, this.x.tw_output_ptr(), len);
  }

  json(len) {
    return JSON.parse(decoder.decode(this.output(len)));
  }

  /** `{keys: {code: bit}, fire: bit}`. */
  keymap() {
    return this.call(() => this.json(this.x.tw_keymap()));
  }

  /**
   * Starts a game. Options: `protocolVersion` overrides the announced version,
   * `room` is a room id (default: any room with space), `token` a join token,
   * `resume` takes back the player of the last game if it dropped recently.
   */
  join(name, { protocolVersion, room, token, resume } = {}, now = performance.now()) {
    this.call(() => {
      const nameBytes = encoder.encode(name);
      const tokenBytes = encoder.encode(token ?? '');
      const both = new Uint8Array(nameBytes.length + tokenBytes.length);
      both.set(nameBytes);
      both.set(tokenBytes, nameBytes.length);
      this.input(both);
      const roomArg = Number.isInteger(room) && room >= 0 ? BigInt(room) : -1n;
      this.x.tw_join(nameBytes.length, tokenBytes.length, protocolVersion ?? -1, roomArg, resume ? 1 : 0, now);
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

  closed(code, reason, now) {
    this.call(() => {
      const len = this.input(encoder.encode(reason || ''));
      this.x.tw_closed(code, len, now);
    });
  }

  errors() {
    if (this.crashed) return [this.crashed.message];
    return this.call(() => this.json(this.x.tw_errors()));
  }
}
