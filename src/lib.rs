//! # nc-provision
//!
//! A stateless desired-state provisioner for the Neurocipher platform's AWS environments.
//!
//! The pipeline flows one way (see `DESIGN.md`): [`spec`] (TOML, validated with located errors)
//! → [`modules`] (pure expansion into a [`model::DesiredGraph`]) → [`providers`] (batched SDK
//! reads into [`model::Observed`]) → [`plan`] (pure diff, rendering, saved plans) → [`exec`]
//! (DAG execution with bounded concurrency, retries and waiters, stopped by a [`fence::Fence`]
//! when the apply lease is lost). AWS itself is the state:
//! ownership is carried by tags.

pub mod calls;
pub mod cli;
pub mod control;
pub mod engine;
pub mod exec;
pub mod fence;
pub mod model;
pub mod modules;
pub mod plan;
pub mod policy;
pub mod providers;
pub mod spec;
