//! The shared AWS toolkit of the SDK edge: configuration and the call counter, client
//! construction (once, for every service), error classification (one table), tag sync, and
//! the one rule that turns live resources into matches and orphans. Nothing outside
//! `providers` sees an SDK type.

mod calls;
mod change;
mod clients;
mod concurrent;
mod config;
mod errors;
mod named;
mod observed;
mod pages;
mod props;
mod singleton;
mod tags;
mod token;

pub use calls::{gone_is_done, sent, sent_or_none};
pub use change::Change;
pub use concurrent::{READS_IN_FLIGHT, read_all};
pub use config::{
    Aws, CallCounter, EMULATOR_ENV, MAX_ATTEMPTS, NO_RETRY_DELAY_ENV, emulator_from_env,
};
pub use errors::{
    ErrorClass, ProviderError, after_create, aws_error, classify_code, found, is_not_yet_visible,
    is_propagation,
};
pub use named::{observe_named, tagged_only};
pub use observed::{Live, MarkerSorter, Sorter, name_and_arn, outputs_of, split_by_kind};
pub use pages::follow_pages;
pub use props::{list_of, list_prop, non_empty_prop};
pub use singleton::observe_singleton;
pub(crate) use tags::tag_api;
pub use tags::{
    Done, SdkTag, TagApi, keys_as_they_are, output, sdk_tags, sdk_tags_of, sync_tags,
    sync_touched_tags, tag_delta, tag_map_of, tag_pairs, tags_from, tags_value,
};
pub use token::{client_token, run_token};
