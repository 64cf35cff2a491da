//! The model of azfn's attributes: parsing, checking and error collection.

pub mod args;
pub mod ast;
pub mod attr;
pub mod check;
pub mod ctxt;
pub mod lit;
pub mod name;
pub mod retry;
