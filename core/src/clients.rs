//! Parameters that receive an Azure SDK client instead of a value: `BlobClient` and
//! `BlobContainerClient` on a blob trigger or blob input, `QueueClient` on a queue trigger
//! (feature `storage-clients`).
//!
//! The SDK's types are foreign, and `impl<T: DeserializeOwned> Parameter for T` covers every
//! type that may one day be `Deserialize`, so they cannot implement [`FromInvocation`] here.
//! Instead the generated code calls through [`ParameterOf<T, K>`]: an inherent item of
//! `ParameterOf<BlobClient, K>` wins over the trait [`ThroughTraits`], whose items forward to
//! [`FromInvocation`] / [`FromInputBinding`] for every other type. The choice is made at
//! compile time (as [`DataTypeOf`](crate::extract::DataTypeOf) chooses `dataType`), and a
//! client on a binding that cannot give it fails on a bound with its own message.

use std::marker::PhantomData;

use crate::error::InvocationError;
use crate::extract::{FromInputBinding, FromInvocation};
use crate::invocation::Invocation;

#[cfg(feature = "storage-clients")]
mod storage;

/// How a parameter of type `T` on a binding of kind `K` is read, and whether it asks the host
/// for deferred binding (a reference instead of the content).
#[derive(Debug)]
pub struct ParameterOf<T, K>(PhantomData<(T, K)>);

/// What every type does: read through [`FromInvocation`] or [`FromInputBinding`], and take the
/// content.
pub trait ThroughTraits<T, K> {
    /// Whether the binding should say `SupportsDeferredBinding`.
    const DEFERRED: bool = false;

    /// Whether the parameter reads the request body as it arrives (a [`RequestBody`]).
    ///
    /// [`RequestBody`]: crate::RequestBody
    const STREAMS_BODY: bool = false;

    /// A parameter without a binding attribute.
    ///
    /// # Errors
    ///
    /// The binding's error.
    fn from_invocation(invocation: &Invocation) -> Result<T, InvocationError>
    where
        T: FromInvocation<K>,
    {
        T::from_invocation(invocation)
    }

    /// A parameter with an input binding attribute.
    ///
    /// # Errors
    ///
    /// The binding's error.
    fn from_input_binding(invocation: &Invocation, name: &str) -> Result<T, InvocationError>
    where
        T: FromInputBinding<K>,
    {
        T::from_input_binding(invocation, name)
    }
}

impl<T, K> ThroughTraits<T, K> for ParameterOf<T, K> {}

impl<K> ParameterOf<crate::RequestBody, K> {
    /// The transport hands this function its body unread (see [`crate::RequestBody`]).
    pub const STREAMS_BODY: bool = true;
}

/// Whether any of these compile-time flags is set: whether any of a binding's parameters asks
/// for deferred binding (a trigger may have several parameters: the client and its metadata),
/// or streams the request body.
pub const fn any_of(flags: &[bool]) -> bool {
    let mut i = 0;
    while i < flags.len() {
        if flags[i] {
            return true;
        }
        i += 1;
    }
    false
}

/// Binding kinds that give a blob client: `blob_trigger` and `blob_input`.
#[diagnostic::on_unimplemented(
    message = "a `{K}` binding gives no blob client",
    label = "a `BlobClient` or `BlobContainerClient` needs a blob binding",
    note = "take `BlobClient` or `BlobContainerClient` in a `blob_trigger` function, or with `#[blob_input(path = \"...\")]`"
)]
pub trait BlobClientSource<K> {}

/// Binding kinds that give a queue client: `queue_trigger`.
#[diagnostic::on_unimplemented(
    message = "a `{K}` binding gives no queue client",
    label = "a `QueueClient` needs a queue trigger",
    note = "take `QueueClient` in a `queue_trigger` function; to send messages from other functions, use a `queue_output`"
)]
pub trait QueueClientSource<K> {}

/// Implements [`BlobClientSource`]/[`QueueClientSource`] (`Self` unused: the kind is the type
/// parameter, so the message can name it).
#[derive(Debug)]
pub struct ClientSource;

impl BlobClientSource<crate::extract::kind::blob_trigger> for ClientSource {}
impl BlobClientSource<crate::extract::kind::blob_input> for ClientSource {}
impl QueueClientSource<crate::extract::kind::queue_trigger> for ClientSource {}

#[cfg(test)]
mod tests {
    use super::{ParameterOf, ThroughTraits as _, any_of};

    #[test]
    fn plain_types_take_the_content() {
        const { assert!(!<ParameterOf<String, crate::extract::kind::blob_trigger>>::DEFERRED) };
        assert!(!any_of(&[false, false]));
        assert!(any_of(&[false, true]));
    }
}
