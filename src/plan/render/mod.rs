//! Renderers: plans and apply reports as text for people or JSON for machines.
//!
//! Renderers only format; they never decide anything.

mod human;
mod json;

pub use human::{render_plan as human_plan, render_value};
pub use json::{JSON_FORMAT_VERSION, plan_json};
