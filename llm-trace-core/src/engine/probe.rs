//! Recognising traced calls by type, at compile time, with autoref specialization.
//!
//! `#[llm_trace]` rewrites a candidate method call `recv.chat(a, b, c)` into (simplified):
//!
//! ```text
//! match probe(|(a0, a1, a2), start| (
//!     (&&&&&Receiver(&recv)).__llm_trace_receiver().begin(start),
//!     recv.chat(a0, a1, a2),
//! )) {
//!     p => (&&&&p.types).__llm_trace_kind().call(p, (a, b, c)),
//! }
//! ```
//!
//! The closure is type-checked first, so the user's method gives the arguments their
//! expected types (closures keep their higher-ranked signatures, `&mut` arguments are
//! reborrowed). It returns, with the client's result, a marker of the receiver's type:
//! [`KnownClient<C>`] when the receiver is (through up to three `Deref`s) a client type
//! a provider declared with [`declare_client!`](crate::declare_client), else
//! [`NotAClient`]. [`Probe`] carries the closure and, in its [`Types`], the argument
//! tuple `A`, the marker `M` and the result `R`; a provider's kind traits are implemented
//! on `&&&Types<its args, KnownClient<its client>, its result>` (sync; `&&Types` async,
//! `&Types` streamed), so method resolution on `&&&&Types` picks such an impl before the
//! [`UntracedCall`] fallback (on `Types`, reached only after every dereference). A user type with its own `chat` method — even one with the client's exact
//! signature — matches no declaration and runs untouched, with no span and no cost.
//!
//! Compile time: every call site instantiates the closure and one `call` method, and
//! nothing else; the kind methods depend on the call's types only, and everything behind
//! `call` on the provider's call type only, so rustc builds them once per crate — in debug
//! builds once for all crates, in the provider's (see [`instances`](super::instances)).

use std::future::Future;
use std::marker::PhantomData;

use super::call::{CallStart, Timing};
use super::future::TracedFuture;
use super::stream::{Stream, TracedStreamFuture};
use crate::provider::{TracedCall, TracedStreamCall};

/// A candidate call: the closure that performs it, typed by its arguments `A`, its
/// receiver's marker `M` and its result `R`.
pub struct Probe<A, F, M, R> {
    call: F,
    /// The call's types, without the closure's: what its kind is chosen by, so the kind
    /// traits' methods are instantiated once per call signature, not once per call site.
    pub types: Types<A, M, R>,
}

/// The types of a candidate call: arguments `A`, receiver marker `M`, result `R`.
pub struct Types<A, M, R>(PhantomData<fn(A) -> (M, R)>);

impl<A, M, R> std::fmt::Debug for Types<A, M, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Types")
    }
}

impl<A, F, M, R> std::fmt::Debug for Probe<A, F, M, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

/// Builds a [`Probe`]; the closure's types come from its body.
#[inline(always)]
pub fn probe<A, M, R, F>(call: F) -> Probe<A, F, M, R>
where
    F: FnOnce(A, &mut CallStart) -> (M, R),
{
    Probe {
        call,
        types: Types(PhantomData),
    }
}

/// The kind of a call no provider recognises: it runs as written.
#[derive(Clone, Copy, Debug)]
pub struct Untraced;

impl Untraced {
    /// Runs the call with nothing traced.
    #[inline(always)]
    pub fn call<A, F, M, R>(self, probe: Probe<A, F, M, R>, args: A) -> R
    where
        F: FnOnce(A, &mut CallStart) -> (M, R),
    {
        (probe.call)(args, &mut CallStart::disabled()).1
    }
}

/// The fallback kind: any call no provider declared. Reached last, so it only
/// applies when no provider's kind trait does.
pub trait UntracedCall {
    /// The call's kind.
    #[inline(always)]
    fn __llm_trace_kind(&self) -> Untraced {
        Untraced
    }
}

impl<A, M, R> UntracedCall for Types<A, M, R> {}

/// A call's receiver, looked at through up to three `Deref`s for a declared client.
#[derive(Debug)]
pub struct Receiver<'a, T: ?Sized>(pub &'a T);

/// A receiver that is a declared client `C`, with its endpoint URL.
#[derive(Debug)]
pub struct KnownReceiver<'a, C: ?Sized> {
    endpoint: &'a str,
    client: PhantomData<fn() -> C>,
}

impl<'a, C: ?Sized> KnownReceiver<'a, C> {
    /// The receiver, with the client's endpoint URL.
    #[inline(always)]
    pub fn new(endpoint: &'a str) -> Self {
        KnownReceiver {
            endpoint,
            client: PhantomData,
        }
    }

    /// Reports the endpoint to the call (which starts a sync call's span) and gives the
    /// receiver's marker.
    #[inline(always)]
    pub fn begin(self, start: &mut CallStart) -> KnownClient<C> {
        start.begin(Some(self.endpoint));
        KnownClient(PhantomData)
    }
}

/// A receiver that is no declared client.
#[derive(Clone, Copy, Debug)]
pub struct UnknownReceiver;

impl UnknownReceiver {
    /// Gives the receiver's marker; nothing is traced.
    #[inline(always)]
    pub fn begin(self, start: &mut CallStart) -> NotAClient {
        start.begin(None);
        NotAClient
    }
}

/// The fallback: any receiver no provider declared.
pub trait AnyReceiver {
    /// What the receiver is.
    #[inline(always)]
    fn __llm_trace_receiver(&self) -> UnknownReceiver {
        UnknownReceiver
    }
}

impl<T: ?Sized> AnyReceiver for Receiver<'_, T> {}

/// The marker of a call whose receiver is a declared client `C`.
pub struct KnownClient<C: ?Sized>(PhantomData<fn() -> C>);

impl<C: ?Sized> std::fmt::Debug for KnownClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KnownClient")
    }
}

/// The marker of a call whose receiver is not a declared client.
#[derive(Clone, Copy, Debug)]
pub struct NotAClient;

/// The flavour of a [`Kind`]: a blocking call.
#[derive(Debug)]
pub enum Blocking {}
/// The flavour of a [`Kind`]: a call returning a future.
#[derive(Debug)]
pub enum Asynchronous {}
/// The flavour of a [`Kind`]: a call returning a future of a stream.
#[derive(Debug)]
pub enum Streamed {}

// The traced futures are named types, not `impl Future`: an opaque type would capture the
// probe's closure type, which borrows the receiver's local, and tie the future to it.

/// The kind of a recognised call of `C` (a [`TracedCall`], or a [`TracedStreamCall`] for
/// [`Streamed`]), in flavour `Flavour`.
pub struct Kind<Flavour, C>(PhantomData<fn() -> (Flavour, C)>);

impl<Flavour, C> Kind<Flavour, C> {
    /// The kind (used by [`declare_client!`](crate::declare_client)).
    #[inline(always)]
    pub const fn new() -> Self {
        Kind(PhantomData)
    }
}

impl<Flavour, C> Default for Kind<Flavour, C> {
    fn default() -> Self {
        Kind::new()
    }
}

impl<Flavour, C> std::fmt::Debug for Kind<Flavour, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Kind<{}, {}>",
            std::any::type_name::<Flavour>(),
            std::any::type_name::<C>()
        )
    }
}

/// The result of a call of `C`.
type CallResult<C> = Result<<C as TracedCall>::Response, <C as TracedCall>::Error>;

impl<C: TracedCall> Kind<Blocking, C> {
    /// Runs the call under a CLIENT span.
    #[inline]
    pub fn call<F, M>(
        self,
        probe: Probe<C::Args, F, M, CallResult<C>>,
        args: C::Args,
    ) -> CallResult<C>
    where
        F: FnOnce(C::Args, &mut CallStart) -> (M, CallResult<C>),
    {
        // The only code here instantiated per call site: the rest is generic in `C` alone.
        let mut start = CallStart::prepare::<C>(&args, Timing::Now, false);
        let (_, result) = (probe.call)(args, &mut start);
        start.end_sync::<C>(&result);
        result
    }
}

impl<C: TracedCall> Kind<Asynchronous, C> {
    /// The call's future, traced under a CLIENT span from its first poll.
    #[inline]
    pub fn call<F, M, Fut>(
        self,
        probe: Probe<C::Args, F, M, Fut>,
        args: C::Args,
    ) -> TracedFuture<C, Fut>
    where
        F: FnOnce(C::Args, &mut CallStart) -> (M, Fut),
        Fut: Future<Output = Result<C::Response, C::Error>>,
    {
        let mut start = CallStart::prepare::<C>(&args, Timing::FirstPoll, false);
        let (_, inner) = (probe.call)(args, &mut start);
        TracedFuture::new(start, inner)
    }
}

/// The client's error type of a streamed call.
type StreamError<S> = <<S as TracedStreamCall>::Call as TracedCall>::Error;

impl<S: TracedStreamCall> Kind<Streamed, S> {
    /// The call's future, traced from its first poll; its stream ends the span.
    #[inline]
    #[allow(clippy::type_complexity)]
    pub fn call<F, M, Fut, St>(
        self,
        probe: Probe<<S::Call as TracedCall>::Args, F, M, Fut>,
        args: <S::Call as TracedCall>::Args,
    ) -> TracedStreamFuture<S, Fut>
    where
        F: FnOnce(<S::Call as TracedCall>::Args, &mut CallStart) -> (M, Fut),
        Fut: Future<Output = Result<St, StreamError<S>>>,
        St: Stream<Item = Result<S::Item, StreamError<S>>>,
    {
        let mut start = CallStart::prepare::<S::Call>(&args, Timing::FirstPoll, true);
        let (_, inner) = (probe.call)(args, &mut start);
        TracedStreamFuture::new(start, inner)
    }
}
