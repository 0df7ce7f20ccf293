//! The shared AWS toolkit of the SDK edge: configuration and the call counter, client
//! construction (once, for every service), error classification (one table), tag sync, and
//! the one rule that turns live resources into matches and orphans. Nothing outside
//! `providers` sees an SDK type.

mod clients;
mod concurrent;
mod config;
mod errors;
mod observed;
mod tags;

pub use concurrent::{READS_IN_FLIGHT, read_all};
pub use config::{
    Aws, CallCounter, EMULATOR_ENV, MAX_ATTEMPTS, NO_RETRY_DELAY_ENV, emulator_from_env,
};
pub use errors::{
    ErrorClass, ProviderError, after_create, aws_error, classify_code, found, is_not_yet_visible,
    is_propagation,
};
pub use observed::{Live, Sorter};
pub use tags::{TagApi, sync_tags, tag_delta, tag_pairs, tags_value};
