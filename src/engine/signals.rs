//! SIGINT/SIGTERM: one listener for the whole process, so a signal that arrives at any moment
//! (while planning, applying or sleeping) is remembered and acted on at the next safe point.

use std::sync::OnceLock;

use tokio::sync::watch;

static SHUTDOWN: OnceLock<watch::Receiver<bool>> = OnceLock::new();

/// Starts listening (once per process) and returns the shutdown flag.
fn receiver() -> watch::Receiver<bool> {
    SHUTDOWN
        .get_or_init(|| {
            let (sender, receiver) = watch::channel(false);
            tokio::spawn(async move {
                os_signal().await;
                let _ = sender.send(true);
            });
            receiver
        })
        .clone()
}

/// Starts listening for SIGINT/SIGTERM now.
pub fn listen() {
    let _ = receiver();
}

/// Whether SIGINT or SIGTERM has arrived.
pub fn requested() -> bool {
    *receiver().borrow()
}

/// Resolves once SIGINT or SIGTERM has arrived (at once if it already has).
pub async fn shutdown() {
    let mut flag = receiver();
    let _ = flag.wait_for(|stop| *stop).await;
}

async fn os_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
