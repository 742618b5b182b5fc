//! The `hone` command-line tool.
fn main() {}
