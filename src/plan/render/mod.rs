//! Renderers: plans and apply reports as text for people or JSON for machines.
//!
//! Renderers only format; they never decide anything.

mod dot;
mod human;
mod json;
mod markdown;

pub use dot::render_graph as dot_graph;
pub use human::{render_plan as human_plan, render_value};
pub use json::{JSON_FORMAT_VERSION, plan_json};
pub use markdown::render_plan as markdown_plan;
