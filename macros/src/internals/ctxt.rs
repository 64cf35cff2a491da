//! Collects every error of one macro expansion, so the user sees them all at once.

use std::cell::RefCell;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// The error accumulator. Checks push errors and carry on; [`Ctxt::check`] hands them all over.
#[derive(Default)]
pub struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    pub fn new() -> Self {
        Ctxt::default()
    }

    /// An error spanning `tokens`.
    pub fn error_spanned_by<T: ToTokens>(&self, tokens: T, message: impl std::fmt::Display) {
        // Turn into tokens first: one monomorphisation of the push, not one per caller type.
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// An error at `span`.
    pub fn error_at(&self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    fn push(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.borrow().is_empty()
    }

    /// Every error, as `compile_error!` invocations (empty when there were none).
    pub fn into_compile_errors(self) -> TokenStream {
        self.errors
            .into_inner()
            .into_iter()
            .map(|e| e.to_compile_error())
            .collect()
    }
}
