//! Integration tests: the built binary against the local AWS (LocalStack, moto), read back
//! with the SDK directly. Start the emulators first (`make test` does).

mod backup;
mod change_control;
mod common;
mod dashboards;
mod data_slice;
mod deploy_files;
mod dr;
mod dr_outage;
mod emulator_gaps;
mod findings;
mod iam;
mod lock;
mod lost_answers;
mod observability;
mod orphans;
mod ownership;
mod provenance;
mod proxy;
mod replication;
mod safety;
mod saved_plans;
mod schedule;
mod singletons;
mod spec_schema;
mod specs;
mod standby;
mod stg_first;
mod vpc;
mod watch;
