//! The built-in engine, called in process.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Implementation;
use crate::conformance::ops::{reference, Context, Outcome, ALL_FEATURES};

/// The built-in engine, called in process.
pub struct Builtin {
    pub ctx: Context,
    features: BTreeSet<String>,
}

impl Builtin {
    pub fn new(ctx: Context) -> Self {
        Builtin { ctx, features: ALL_FEATURES.iter().map(|s| s.to_string()).collect() }
    }

    /// The engine declaring only `features`: what a partial port looks like
    /// to the runner (cases needing others are unsupported).
    pub fn with_features(ctx: Context, features: BTreeSet<String>) -> Self {
        Builtin { ctx, features }
    }
}

impl Implementation for Builtin {
    fn name(&self) -> &str {
        "rust"
    }
    fn features(&self) -> &BTreeSet<String> {
        &self.features
    }
    fn call(&mut self, op: &str, args: &Value) -> Outcome {
        reference(&self.ctx, op, args)
    }
    fn as_builtin(&self) -> Option<&Builtin> {
        Some(self)
    }
}
