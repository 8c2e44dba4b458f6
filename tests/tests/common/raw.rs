//! A bare client over any WebSocket stream (plain, TLS, built from a custom
//! request), for tests that need control [`tickwire_tests::Connection`]
//! does not give: headers, TLS, or a socket that simply stops being read.

use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tickwire_protocol::message::Welcome;
use tickwire_protocol::session::{ClientSession, SessionConfig, SessionEvent};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;

use super::WAIT;

/// A session driven by hand over a WebSocket stream of any kind.
pub struct RawClient<S> {
    /// The socket.
    pub ws: WebSocketStream<S>,
    /// The protocol session.
    pub session: ClientSession,
    origin: Instant,
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawClient<S> {
    /// Wraps an upgraded stream and sends the session's `Hello`.
    pub async fn hello(ws: WebSocketStream<S>, config: SessionConfig) -> anyhow::Result<Self> {
        let mut client = Self {
            ws,
            session: ClientSession::new(config, Duration::ZERO),
            origin: Instant::now(),
        };
        client.flush().await?;
        Ok(client)
    }

    /// Sends everything the session has queued.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        while let Some(bytes) = self.session.poll_transmit() {
            self.ws.feed(Message::Binary(bytes.into())).await?;
        }
        self.ws.flush().await?;
        Ok(())
    }

    /// Reads one message into the session (answering as it asks); an error
    /// on a close frame or the end of the stream.
    async fn pump(&mut self) -> anyhow::Result<()> {
        match self.ws.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                self.session
                    .handle_bytes(&bytes, self.origin.elapsed())
                    .context("bad message from the server")?;
                self.flush().await
            }
            Some(Ok(Message::Close(frame))) => bail!("closed by the server: {frame:?}"),
            Some(Ok(_)) => Ok(()),
            Some(Err(err)) => Err(err).context("reading the socket"),
            None => bail!("the server dropped the connection"),
        }
    }

    /// Reads one message into the session without sending anything back (a
    /// client gone quiet): whether it was a binary (protocol) message.
    #[allow(dead_code)] // not every test binary uses it
    pub async fn read_quietly(&mut self) -> anyhow::Result<bool> {
        match self.ws.next().await {
            Some(Ok(Message::Binary(bytes))) => {
                self.session
                    .handle_bytes(&bytes, self.origin.elapsed())
                    .context("bad message from the server")?;
                Ok(true)
            }
            Some(Ok(Message::Close(frame))) => bail!("closed by the server: {frame:?}"),
            Some(Ok(_)) => Ok(false),
            Some(Err(err)) => Err(err).context("reading the socket"),
            None => bail!("the server dropped the connection"),
        }
    }

    /// Reads until the session's next event.
    pub async fn next_event(&mut self) -> anyhow::Result<SessionEvent> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(event) = self.session.poll_event() {
                    return Ok(event);
                }
                self.pump().await?;
            }
        })
        .await
        .context("no event in time")?
    }

    /// Reads until the `Welcome`.
    pub async fn welcomed(&mut self) -> anyhow::Result<Welcome> {
        loop {
            match self.next_event().await? {
                SessionEvent::Welcomed(w) => return Ok(w),
                SessionEvent::Notice(n) => bail!("notice before welcome: {n:?}"),
                _ => {}
            }
        }
    }

    /// Reads until `n` snapshots have applied; fails on a desync.
    pub async fn snapshots(&mut self, n: usize) -> anyhow::Result<u32> {
        let mut last = 0;
        for _ in 0..n {
            loop {
                match self.next_event().await? {
                    SessionEvent::Snapshot { tick, .. } => {
                        last = tick;
                        break;
                    }
                    SessionEvent::Desync(err) => bail!("desync: {err}"),
                    _ => {}
                }
            }
        }
        Ok(last)
    }

    /// Reads (answering nothing) until the server's close frame: its code and reason.
    pub async fn close_frame(&mut self) -> anyhow::Result<(u16, String)> {
        tokio::time::timeout(WAIT, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(Some(f)))) => {
                        return Ok((u16::from(f.code), f.reason.as_str().to_owned()));
                    }
                    Some(Ok(Message::Close(None))) => bail!("close frame without a code"),
                    Some(Ok(Message::Binary(bytes))) => {
                        let _ = self.session.handle_bytes(&bytes, self.origin.elapsed());
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return Err(err).context("no close frame"),
                    None => bail!("the connection ended without a close frame"),
                }
            }
        })
        .await
        .context("no close frame in time")?
    }
}

/// The upgrade request for `url` with extra headers.
pub fn request_with(url: &str, headers: &[(&str, &str)]) -> anyhow::Result<Request> {
    let mut request = url.into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())?,
            value.parse()?,
        );
    }
    Ok(request)
}

/// Opens a plain TCP connection to the test server and upgrades it with `request`.
pub async fn upgrade(
    addr: std::net::SocketAddr,
    request: Request,
) -> Result<WebSocketStream<TcpStream>, tokio_tungstenite::tungstenite::Error> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (ws, _response) = tokio_tungstenite::client_async(request, tcp).await?;
    Ok(ws)
}

/// The HTTP status of a refused upgrade, if that is why it failed.
pub fn refused_status(err: &tokio_tungstenite::tungstenite::Error) -> Option<u16> {
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => Some(response.status().as_u16()),
        _ => None,
    }
}
