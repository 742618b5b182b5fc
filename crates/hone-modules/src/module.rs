//! The [`Module`] trait: an async call plus the program's predictors, by name.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use hone_core::state::{ProgramState, ProgramStructure};
use hone_core::{Example, Prediction};
use hone_lm::BoxFuture;

use crate::context::{CallContext, ModuleEvent};
use crate::error::{ModuleError, panic_message};
use crate::predict::Predict;

/// A program: a value with an async call and named predictors.
///
/// Implement [`Module::forward`] and the two predictor listings (the [`predictors!`] macro
/// writes those for a struct whose fields are modules); call a module with [`Module::call`],
/// which adds callbacks and turns a panic in `forward` into [`ModuleError::Panicked`].
///
/// The futures are `Send`, so a call runs on any executor or thread, and cancellation-safe:
/// dropping one mid-way leaves no shared state half-updated (traces receive whole entries only,
/// and modules hold no per-call state).
///
/// ```
/// use hone_core::{Example, Prediction};
/// use hone_lm::BoxFuture;
/// use hone_modules::{CallContext, ChainOfThought, Module, ModuleError, Predict};
///
/// struct Support {
///     route: Predict,
///     answer: ChainOfThought,
/// }
///
/// impl Module for Support {
///     fn forward<'a>(&'a self, inputs: Example, ctx: &'a CallContext)
///         -> BoxFuture<'a, Result<Prediction, ModuleError>> {
///         Box::pin(async move {
///             let routed = self.route.call(inputs.clone(), &ctx.child("route")).await?;
///             let team = routed.get("team").cloned().unwrap_or_default();
///             self.answer.call(inputs.with("team", team), &ctx.child("answer")).await
///         })
///     }
///     hone_modules::predictors!(route, answer);
/// }
///
/// let program = Support {
///     route: Predict::new("ticket -> team").unwrap(),
///     answer: ChainOfThought::new("ticket, team -> reply").unwrap(),
/// };
/// let names: Vec<String> = program.named_predictors().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["route", "answer.predict"]);
/// ```
pub trait Module: Send + Sync {
    /// Runs the module on `inputs`. Sub-modules are called with
    /// `child.call(inputs, &ctx.child("field_name"))` so their predictors are named and traced
    /// as DSPy names them.
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>>;

    /// The predictors, in a stable order, named as DSPy's `named_predictors()` names them.
    fn named_predictors(&self) -> Vec<(String, &Predict)>;

    /// The predictors, mutably, in the same order and with the same names.
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)>;

    /// The module's type name, for callbacks and errors.
    fn module_name(&self) -> &'static str {
        short_type_name(std::any::type_name::<Self>())
    }

    /// Calls the module: [`Module::forward`] with callbacks around it and panics caught.
    fn call<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let module = self.module_name();
            let callbacks = ctx.callbacks();
            let start_inputs = if callbacks.is_empty() {
                None
            } else {
                Some(inputs.clone())
            };
            if let Some(inputs) = &start_inputs {
                let event = ModuleEvent {
                    path: ctx.path(),
                    module,
                    inputs,
                };
                for cb in callbacks {
                    cb.on_module_start(&event);
                }
            }
            let result = match AssertUnwindSafe(self.forward(inputs, ctx))
                .catch_unwind()
                .await
            {
                Ok(result) => result,
                Err(payload) => Err(ModuleError::Panicked {
                    module: if ctx.path().is_empty() {
                        module.to_owned()
                    } else {
                        format!("{module} at `{}`", ctx.path())
                    },
                    message: panic_message(payload.as_ref()),
                }),
            };
            if let Some(inputs) = &start_inputs {
                let event = ModuleEvent {
                    path: ctx.path(),
                    module,
                    inputs,
                };
                for cb in callbacks {
                    cb.on_module_end(&event, result.as_ref());
                }
            }
            result
        })
    }

    /// The program's shape: predictor names and signatures.
    fn structure(&self) -> ProgramStructure {
        self.named_predictors()
            .into_iter()
            .map(|(name, p)| (name, p.signature().clone()))
            .collect()
    }

    /// The program's state (instructions, field prefixes and descriptions, demos, LM settings
    /// per predictor), to save with [`ProgramState::to_json_string_pretty`].
    fn state(&self) -> ProgramState {
        let mut state = ProgramState::default();
        for (name, p) in self.named_predictors() {
            state.predictors.insert(name, p.dump_state());
        }
        state
    }

    /// Loads a state: every predictor of the program must be in it with the same field names,
    /// and it may name no other predictor. Nothing is changed when it does not fit.
    fn load_state(&mut self, state: &ProgramState) -> Result<(), ModuleError> {
        {
            let ours = self.named_predictors();
            for (name, p) in &ours {
                let Some(saved) = state.predictor(name) else {
                    return Err(ModuleError::State {
                        message: format!(
                            "the state has no predictor `{name}`; it holds [{}]",
                            state
                                .predictors
                                .keys()
                                .map(String::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                };
                let have = p.signature().field_names();
                let saved_names = saved.signature.field_names();
                if have != saved_names {
                    return Err(ModuleError::State {
                        message: format!(
                            "predictor `{name}` has fields [{}] but the state gives [{}]",
                            have.join(", "),
                            saved_names.join(", ")
                        ),
                    });
                }
            }
            if let Some(extra) = state
                .predictors
                .keys()
                .find(|k| !ours.iter().any(|(n, _)| n == *k))
            {
                return Err(ModuleError::State {
                    message: format!(
                        "the state names predictor `{extra}`, which the program does not have; \
                         the program's predictors are [{}]",
                        ours.iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        for (name, p) in self.named_predictors_mut() {
            if let Some(saved) = state.predictor(&name) {
                p.apply_state(saved);
            }
        }
        Ok(())
    }

    /// Loads a state file's text (hone's or DSPy's format) onto this program.
    fn load_state_json(&mut self, text: &str) -> Result<(), ModuleError> {
        let state = ProgramState::from_json_str_with(text, &self.structure())?;
        self.load_state(&state)
    }
}

impl<M: Module + ?Sized> Module for Box<M> {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        (**self).forward(inputs, ctx)
    }
    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        (**self).named_predictors()
    }
    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        (**self).named_predictors_mut()
    }
    fn module_name(&self) -> &'static str {
        (**self).module_name()
    }
}

/// The last path segment of a type name, without generics (`hone_modules::Predict` → `Predict`).
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// Names a sub-module's predictors under `prefix`: `self` becomes `prefix`, anything else
/// `prefix.name` (DSPy's naming). Used by [`predictors!`] and by hand-written listings, e.g.
/// `prefixed(&format!("steps[{i}]"), step.named_predictors())` for a list of modules.
pub fn prefixed<P>(prefix: &str, inner: Vec<(String, P)>) -> Vec<(String, P)> {
    inner
        .into_iter()
        .map(|(name, p)| {
            let name = if name == hone_core::state::ROOT_PREDICTOR {
                prefix.to_owned()
            } else {
                format!("{prefix}.{name}")
            };
            (name, p)
        })
        .collect()
}

/// Writes [`Module::named_predictors`] and [`Module::named_predictors_mut`] for a struct whose
/// listed fields are modules, in the order given (use the fields' declaration order, as DSPy
/// does). Use it inside `impl Module for YourType { ... }`.
///
/// ```
/// # use hone_core::{Example, Prediction};
/// # use hone_lm::BoxFuture;
/// # use hone_modules::{CallContext, Module, ModuleError, Predict};
/// struct TwoStep { draft: Predict, polish: Predict }
/// impl Module for TwoStep {
///     fn forward<'a>(&'a self, inputs: Example, ctx: &'a CallContext)
///         -> BoxFuture<'a, Result<Prediction, ModuleError>> {
///         Box::pin(async move {
///             let d = self.draft.call(inputs, &ctx.child("draft")).await?;
///             self.polish.call(Example::from_map(d.into_fields()), &ctx.child("polish")).await
///         })
///     }
///     hone_modules::predictors!(draft, polish);
/// }
/// ```
#[macro_export]
macro_rules! predictors {
    ($($field:ident),* $(,)?) => {
        fn named_predictors(&self) -> ::std::vec::Vec<(::std::string::String, &$crate::Predict)> {
            #[allow(unused_mut)]
            let mut out = ::std::vec::Vec::new();
            $(
                out.extend($crate::prefixed(
                    ::std::stringify!($field),
                    $crate::Module::named_predictors(&self.$field),
                ));
            )*
            out
        }
        fn named_predictors_mut(
            &mut self,
        ) -> ::std::vec::Vec<(::std::string::String, &mut $crate::Predict)> {
            #[allow(unused_mut)]
            let mut out = ::std::vec::Vec::new();
            $(
                out.extend($crate::prefixed(
                    ::std::stringify!($field),
                    $crate::Module::named_predictors_mut(&mut self.$field),
                ));
            )*
            out
        }
    };
}
