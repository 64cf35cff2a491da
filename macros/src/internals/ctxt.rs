//! Collects every error of one macro expansion, so the user sees them all at once.

use std::cell::RefCell;
use std::thread;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// The error accumulator. Checks push errors and carry on; [`Ctxt::check`] hands them all over.
///
/// A `Ctxt` must end in [`Ctxt::check`]: dropping it unchecked panics, so no path through a
/// macro can lose the errors it collected (as serde_derive's `Ctxt` does). That panic is an
/// assertion about the macro's own code, never a report on the user's input.
pub struct Ctxt {
    /// `None` once checked.
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
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
        // A `Ctxt` is consumed by `check`, so it cannot be used after; the `if let` only keeps
        // this free of a panic path.
        if let Some(errors) = self.errors.borrow_mut().as_mut() {
            errors.push(error);
        }
    }

    /// Every error collected, combined into one (its `to_compile_error` emits each of them),
    /// or `Ok` when there were none. Consumes the context: this is how it must end.
    pub fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut errors = errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !thread::panicking() && self.errors.borrow().is_some() {
            panic!("forgot to check for errors: a Ctxt was dropped without Ctxt::check (a bug in azfn-macros)");
        }
    }
}

/// `item` (the user's, or a stand-in for it), then `errors`: the item is kept so that one
/// mistake does not cascade into "cannot find" errors wherever the crate uses it.
pub fn item_with_errors(item: impl ToTokens, errors: &syn::Error) -> TokenStream {
    let mut tokens = item.into_token_stream();
    tokens.extend(errors.to_compile_error());
    tokens
}

#[cfg(test)]
mod tests {
    use super::Ctxt;
    use proc_macro2::Span;

    #[test]
    fn check_hands_over_every_error() {
        let cx = Ctxt::new();
        cx.error_at(Span::call_site(), "first");
        cx.error_at(Span::call_site(), "second");
        let messages: Vec<String> = match cx.check() {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        };
        assert_eq!(messages, ["first", "second"]);
    }

    #[test]
    fn check_without_errors_is_ok() {
        assert!(Ctxt::new().check().is_ok());
    }

    #[test]
    #[should_panic(expected = "forgot to check for errors")]
    fn dropping_with_errors_unchecked_panics() {
        let cx = Ctxt::new();
        cx.error_at(Span::call_site(), "lost");
        drop(cx);
    }

    #[test]
    #[should_panic(expected = "forgot to check for errors")]
    fn dropping_unchecked_panics_even_without_errors() {
        drop(Ctxt::new());
    }
}
