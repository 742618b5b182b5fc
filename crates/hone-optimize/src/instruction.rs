//! The instruction optimizers — [`Gepa`](crate::gepa::Gepa), [`MiproV2`](crate::mipro::MiproV2), [`Copro`](crate::copro::Copro), [`Simba`](crate::simba::Simba) — and a [`Registry`] that
//! restores them next to the built-in few-shot optimizers.

use crate::restore::Registry;

/// [`Registry::builtin`] plus the instruction optimizers, for drivers that resume runs of any
/// optimizer from a checkpoint.
pub fn registry() -> Registry {
    Registry::builtin()
        .with::<crate::gepa::Gepa>()
        .with::<crate::mipro::MiproV2>()
        .with::<crate::copro::Copro>()
        .with::<crate::simba::Simba>()
}
