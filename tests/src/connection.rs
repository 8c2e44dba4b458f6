//! One WebSocket connection driving a [`ClientSession`]: the thin async
//! driver around the sans-IO session.
//!
//! [`Connection::recv`] waits for one message from the server (or the
//! session's ping timer) and feeds it to the session; the caller then drains
//! [`Connection::poll_event`] and calls [`Connection::flush`], which writes
//! every message the session has queued (`feed` each, then one flush).
//! Both are cancel-safe, so they can sit in a `tokio::select!`.

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Sink, SinkExt, StreamExt};
use tickwire_protocol::session::{ClientSession, SessionConfig, SessionEvent};
use tickwire_protocol::{InputFrame, View, codec};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::behavior::Mind;
use crate::error::BotError;
use crate::target::Target;

/// Bytes tungstenite reads from the socket at a time. Its default (128 KiB,
/// allocated eagerly) would cost thousands of bots hundreds of MiB; server
/// messages are a few hundred bytes, and larger ones still arrive in chunks.
/// tungstenite zeroes this much before every read (also before one that
/// finds nothing), so small is also fast.
const READ_BUFFER_BYTES: usize = 512;
/// Outgoing bytes buffered before tungstenite writes without a flush. We
/// flush after every batch anyway; this only bounds a batch.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// Most outgoing bytes queued while the socket is not writable. A bot sends
/// a few dozen bytes per tick, so hitting this means the server stopped reading.
const MAX_WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// Largest message accepted from the server: the codec's own limit plus framing slack.
const MAX_MESSAGE_BYTES: usize = codec::MAX_SERVER_MESSAGE_BYTES + 1024;
/// How long reading for a close frame may take after a write failed.
const SALVAGE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a closing handshake may take before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What woke [`Connection::recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A message from the server was handled.
    Message,
    /// The session's timer ran (it may have queued a ping).
    Timer,
}

/// Bytes and messages that went over one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Binary message bytes received (payloads, without WebSocket framing).
    pub down_bytes: u64,
    /// Binary messages received.
    pub down_messages: u64,
    /// Binary message bytes sent (payloads, without WebSocket framing).
    pub up_bytes: u64,
    /// Binary messages sent.
    pub up_messages: u64,
}

/// A WebSocket connection to a tickwire server, with its client session.
#[derive(Debug)]
pub struct Connection {
    ws: WebSocketStream<TcpStream>,
    session: ClientSession,
    origin: Instant,
    /// Fires at the session's `poll_timeout`; re-armed only when that changes.
    timer: Pin<Box<Sleep>>,
    timer_deadline: Duration,
    /// tungstenite queued a control frame (a pong or close reply) that needs a flush.
    control_pending: bool,
    /// Session time at which the last message was handled.
    last_message_at: Duration,
    traffic: Traffic,
}

impl Connection {
    /// Connects (TCP with `TCP_NODELAY`, then the WebSocket upgrade) and
    /// starts a session; its `Hello` goes out with the first [`Self::flush`].
    pub async fn connect(target: &Target, config: SessionConfig) -> Result<Self, BotError> {
        let stream = TcpStream::connect(target.addr())
            .await
            .map_err(BotError::Connect)?;
        stream.set_nodelay(true).map_err(BotError::Connect)?;
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(WRITE_BUFFER_BYTES)
            .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let (ws, _response) =
            tokio_tungstenite::client_async_with_config(target.url(), stream, Some(ws_config))
                .await
                .map_err(|e| BotError::Handshake(Box::new(e)))?;
        let origin = Instant::now();
        let session = ClientSession::new(config, Duration::ZERO);
        let timer_deadline = session.poll_timeout();
        Ok(Self {
            ws,
            session,
            timer: Box::pin(tokio::time::sleep_until(origin + timer_deadline)),
            timer_deadline,
            origin,
            control_pending: false,
            last_message_at: Duration::ZERO,
            traffic: Traffic::default(),
        })
    }

    /// Time since the connection was made: the session's clock.
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The instant `at` on the session's clock stands for.
    pub fn instant_at(&self, at: Duration) -> Instant {
        self.origin + at
    }

    /// When (on the session's clock) the last message was handled: the
    /// receive time of what [`Self::poll_event`] now reports.
    pub fn last_message_at(&self) -> Duration {
        self.last_message_at
    }

    /// Waits for one message from the server and feeds it to the session,
    /// leaving the session's timer to the caller (see [`Self::run_timers`]):
    /// for drivers with a timer of their own, to save one per connection.
    /// Cancel-safe.
    pub async fn recv_message(&mut self) -> Result<(), BotError> {
        let msg = self.ws.next().await;
        self.on_message(msg).await
    }

    /// Runs the session's timers if they are due at `now` (it may queue a ping).
    pub fn run_timers(&mut self, now: Duration) {
        if now >= self.session.poll_timeout() {
            self.session.handle_timeout(now);
        }
    }

    /// Waits for one message from the server, or for the session's timer, and
    /// feeds it to the session. Cancel-safe.
    ///
    /// A close frame from the server ends in [`BotError::Closed`] (after the
    /// close reply is sent); a message the session rejects in [`BotError::Session`].
    pub async fn recv(&mut self) -> Result<Wake, BotError> {
        let deadline = self.session.poll_timeout();
        if deadline != self.timer_deadline {
            self.timer.as_mut().reset(self.origin + deadline);
            self.timer_deadline = deadline;
        }
        tokio::select! {
            msg = self.ws.next() => self.on_message(msg).await.map(|()| Wake::Message),
            () = self.timer.as_mut() => {
                let now = self.now();
                self.session.handle_timeout(now);
                if self.session.poll_timeout() == self.timer_deadline {
                    // Never spin on an elapsed timer, whatever the session says.
                    self.timer_deadline = now + Duration::from_secs(1);
                    self.timer.as_mut().reset(self.origin + self.timer_deadline);
                }
                Ok(Wake::Timer)
            }
        }
    }

    async fn on_message(
        &mut self,
        msg: Option<Result<Message, tungstenite::Error>>,
    ) -> Result<(), BotError> {
        match msg {
            Some(Ok(Message::Binary(bytes))) => {
                self.traffic.down_bytes += bytes.len() as u64;
                self.traffic.down_messages += 1;
                let now = self.now();
                self.last_message_at = now;
                self.session.handle_bytes(&bytes, now)?;
                Ok(())
            }
            Some(Ok(Message::Text(_))) => Err(BotError::TextFrame),
            Some(Ok(Message::Ping(_))) => {
                self.control_pending = true; // tungstenite queued the pong
                Ok(())
            }
            Some(Ok(Message::Pong(_) | Message::Frame(_))) => Ok(()),
            Some(Ok(Message::Close(frame))) => {
                // tungstenite queued the close reply: send it, then report the close.
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.ws.flush()).await;
                let (code, reason) = match frame {
                    Some(f) => (u16::from(f.code), f.reason.as_str().to_owned()),
                    None => (u16::from(CloseCode::Status), String::new()),
                };
                Err(BotError::Closed { code, reason })
            }
            Some(Err(err)) => Err(BotError::ws(err)),
            None => Err(BotError::Dropped),
        }
    }

    /// The next event the session produced, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.session.poll_event()
    }

    /// Records this tick's input (see [`ClientSession::push_input`]); it goes
    /// out with the next [`Self::flush`]. `None` before the `Welcome`.
    pub fn push_input(&mut self, frame: InputFrame) -> Option<u32> {
        self.session.push_input(frame)
    }

    /// Pushes `frames` inputs chosen by `mind` (one per simulation tick due),
    /// then sends them, with anything else the session queued, in one flush.
    pub async fn send_inputs_from(&mut self, mind: &mut Mind, frames: u64) -> Result<(), BotError> {
        for _ in 0..frames {
            let frame = mind.next_input(&self.session);
            self.session.push_input(frame);
        }
        self.session.flush_inputs();
        self.flush().await
    }

    /// Writes every message the session has queued (`feed` each), then
    /// flushes once. Cancel-safe: a message leaves the session only when the
    /// socket can take it.
    pub async fn flush(&mut self) -> Result<(), BotError> {
        match self.write_pending().await {
            Ok(()) => Ok(()),
            Err(err) => Err(self.salvage_close(err).await),
        }
    }

    async fn write_pending(&mut self) -> Result<(), BotError> {
        let mut fed = false;
        loop {
            poll_fn(|cx| Pin::new(&mut self.ws).poll_ready(cx))
                .await
                .map_err(BotError::ws)?;
            let Some(bytes) = self.session.poll_transmit() else {
                break;
            };
            self.traffic.up_bytes += bytes.len() as u64;
            self.traffic.up_messages += 1;
            Pin::new(&mut self.ws)
                .start_send(Message::Binary(bytes.into()))
                .map_err(BotError::ws)?;
            fed = true;
        }
        if fed || self.control_pending {
            self.ws.flush().await.map_err(BotError::ws)?;
            self.control_pending = false;
        }
        Ok(())
    }

    /// After a failed write, reads what the server sent before it went away:
    /// if that ends in a close frame, the close is the better explanation
    /// (a server that closes its socket at once makes our next write fail
    /// although its close frame is already here).
    async fn salvage_close(&mut self, write_err: BotError) -> BotError {
        if !matches!(write_err, BotError::Ws(_) | BotError::Dropped) {
            return write_err;
        }
        tracing::debug!(cause = %write_err, "write failed; reading on for a close frame");
        let salvage = async {
            loop {
                let msg = self.ws.next().await;
                if msg.is_none() || matches!(msg, Some(Err(_))) {
                    return None;
                }
                match self.on_message(msg).await {
                    Ok(()) => {}
                    Err(err @ BotError::Closed { .. }) => return Some(err),
                    Err(_) => return None,
                }
            }
        };
        match tokio::time::timeout(SALVAGE_TIMEOUT, salvage).await {
            Ok(Some(closed)) => closed,
            _ => write_err,
        }
    }

    /// Sends any message as is, bypassing the session (to test how the server
    /// treats bad frames). Flushes at once.
    pub async fn send_raw(&mut self, msg: Message) -> Result<(), BotError> {
        self.ws.send(msg).await.map_err(BotError::ws)
    }

    /// Closes the connection with `code` and waits (boundedly) for the
    /// server's close reply. The connection is of no further use.
    pub async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let closing = async {
            if self.ws.close(Some(frame)).await.is_err() {
                return;
            }
            // Read until the server's close reply ends the stream.
            while let Some(Ok(_)) = self.ws.next().await {}
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, closing).await;
    }

    /// The session.
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// The session, mutably (for flushing inputs early and the like).
    pub fn session_mut(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// The session's current view.
    pub fn view(&self) -> &View {
        self.session.view()
    }

    /// What has gone over this connection so far.
    pub fn traffic(&self) -> Traffic {
        self.traffic
    }
}
