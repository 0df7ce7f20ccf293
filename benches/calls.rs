//! Placeholder bench target (the API-call measurements live in the integration tests).
fn main() {}
