// The WebSocket to the game server: binary frames in and out, nothing else.
// What the frames mean is the wasm client's business.

/** The room list's address: same host and port as the page. */
export function roomsUrl() {
  return new URL('/rooms', location.href).href;
}

/** The game socket's address: same host and port as the page, path /ws. */
export function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

/** One connection attempt. Handlers: onOpen(), onMessage(Uint8Array), onClose(code, reason). */
export class Connection {
  constructor(url, handlers) {
    this.closed = false;
    this.socket = new WebSocket(url);
    this.socket.binaryType = 'arraybuffer';
    this.socket.onopen = () => handlers.onOpen();
    this.socket.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) handlers.onMessage(new Uint8Array(e.data));
    };
    this.socket.onclose = (e) => {
      if (this.closed) return;
      this.closed = true;
      handlers.onClose(e.code, e.reason);
    };
  }

  get open() {
    return !this.closed && this.socket.readyState === WebSocket.OPEN;
  }

  send(bytes) {
    if (this.open) this.socket.send(bytes);
  }

  /**
   * Gives up on this attempt without waiting for the close handshake: no
   * `onClose` follows (the caller handles the ending itself).
   */
  abandon() {
    this.closed = true;
    this.close(4000, 'no answer');
  }

  /** Closes from our side (4000–4999 are the codes a page may use). */
  close(code = 1000, reason = '') {
    if (this.socket.readyState <= WebSocket.OPEN) this.socket.close(code, reason);
  }
}
