//! The accept loop: one hyper HTTP/1 connection task per socket, each with a
//! kill switch a handler can pull to drop the connection without a response.

use std::sync::Arc;

use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

/// Pulled by a handler to drop its connection (reset, no response).
#[derive(Debug, Clone, Default)]
pub struct KillSwitch(pub Arc<Notify>);

impl KillSwitch {
    /// Drops the connection this request arrived on.
    pub fn pull(&self) {
        self.0.notify_one();
    }
}

/// Accepts connections until `shutdown` turns true.
pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let kill = KillSwitch::default();
        let svc = TowerToHyperService::new(router.clone().layer(Extension(kill.clone())));
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let mut conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            let killed = tokio::select! {
                _ = &mut conn => false,
                _ = kill.0.notified() => true,
                _ = stop.changed() => false,
            };
            if killed {
                let parts = conn.into_parts();
                // Zero linger turns the close into a TCP reset.
                let _ = parts.io.inner().set_zero_linger();
                drop(parts);
            }
        });
    }
}
