//! Core of hone.
