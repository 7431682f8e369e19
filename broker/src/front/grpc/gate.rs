//! The connection gate of the gRPC front: a client must send the start of its connection
//! (the 24-byte HTTP/2 preface, or the first bytes of a TLS ClientHello) within
//! [`OPENING_TIMEOUT`], or the connection is closed. hyper's HTTP/2 server has no such
//! deadline of its own, so without the gate a client that connects and says nothing (or
//! one byte at a time) holds a socket and a task forever, with no key needed (slowloris).
//!
//! Each connection waits in its own task, so a slow one never holds up the accept loop.
//! What the gate read is replayed to the server unchanged. After the opening, HTTP/2
//! keepalive pings (see `GrpcFront::serve_listener`) close connections whose peer stops
//! answering, and TLS has its own handshake deadline.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long a new connection has to send its opening bytes.
pub(crate) const OPENING_TIMEOUT: Duration = Duration::from_secs(10);

/// How many opening bytes a connection must send: the HTTP/2 client preface
/// (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`) is exactly this long, and any TLS ClientHello is longer.
const OPENING_BYTES: usize = 24;

/// Connections waiting for their opening at once; more wait in the kernel's backlog.
const MAX_OPENING: usize = 1024;

/// A connection whose opening arrived in time; reads replay the opening first.
#[derive(Debug)]
pub(crate) struct Opened {
    opening: Vec<u8>,
    replayed: usize,
    stream: TcpStream,
}

/// Accepts on `listener` and yields each connection once it has sent its opening in time;
/// stops accepting when the returned stream is dropped (the server shut down).
pub(crate) fn gate(listener: TcpListener) -> ReceiverStream<io::Result<Opened>> {
    let (opened, incoming) = mpsc::channel(64);
    tokio::spawn(accept(listener, opened));
    ReceiverStream::new(incoming)
}

async fn accept(listener: TcpListener, opened: mpsc::Sender<io::Result<Opened>>) {
    let waiting = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_OPENING));
    loop {
        let Ok(permit) = std::sync::Arc::clone(&waiting).acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = opened.closed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Per-connection errors (the peer reset before accept, no file descriptors
                // left) must not stop the server; back off briefly when out of resources.
                tracing::debug!(error = %e, "accepting a gRPC connection failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let opened = opened.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Some(connection) = wait_for_opening(stream, peer).await {
                let _ = opened.send(Ok(connection)).await;
            }
        });
    }
}

async fn wait_for_opening(mut stream: TcpStream, peer: SocketAddr) -> Option<Opened> {
    // Nagle would only delay the server's answers; set it as tonic's own incoming does.
    let _ = stream.set_nodelay(true);
    let mut opening = vec![0u8; OPENING_BYTES];
    match tokio::time::timeout(OPENING_TIMEOUT, stream.read_exact(&mut opening)).await {
        Ok(Ok(_)) => Some(Opened {
            opening,
            replayed: 0,
            stream,
        }),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "a gRPC connection closed before its opening");
            None
        }
        Err(_) => {
            tracing::debug!(
                %peer,
                "closed a gRPC connection that sent no opening within {} s",
                OPENING_TIMEOUT.as_secs()
            );
            None
        }
    }
}

impl Connected for Opened {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Opened {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.replayed < this.opening.len() {
            let rest = &this.opening[this.replayed..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.replayed += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Opened {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn the_opening_is_replayed_to_the_server_unchanged() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = gate(listener);
        let mut client = TcpStream::connect(addr).await.unwrap();
        let sent: Vec<u8> = (0u8..40).collect();
        client.write_all(&sent).await.unwrap();
        let mut opened = incoming.next().await.unwrap().unwrap();
        let mut got = vec![0u8; sent.len()];
        opened.read_exact(&mut got).await.unwrap();
        assert_eq!(got, sent);
    }
}
