//! Derive macros for hone.
