//! Bounded concurrency for per-resource reads: enough requests in flight to hide round trips,
//! never so many that an endpoint drops connections (an unbounded read of 1,000 buckets put
//! ~4,400 requests in flight at once and failed with connection resets).

use futures::{StreamExt, TryStreamExt};

use super::errors::ProviderError;

/// Requests of one provider's per-resource reads in flight at once.
pub const READS_IN_FLIGHT: usize = 16;

/// Runs `reads` with at most [`READS_IN_FLIGHT`] in flight, keeping their order.
///
/// # Errors
/// The first read that failed.
pub async fn read_all<T, F>(reads: impl IntoIterator<Item = F>) -> Result<Vec<T>, ProviderError>
where
    F: Future<Output = Result<T, ProviderError>>,
{
    futures::stream::iter(reads)
        .buffered(READS_IN_FLIGHT)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn reads_keep_their_order_and_never_exceed_the_bound() {
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let reads = (0..100).map(|n| {
            let (in_flight, peak) = (&in_flight, &peak);
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, ProviderError>(n)
            }
        });
        let read = read_all(reads).await.expect("reads");
        assert_eq!(read, (0..100).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= READS_IN_FLIGHT);
    }
}
