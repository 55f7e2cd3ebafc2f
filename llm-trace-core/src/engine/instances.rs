//! The engine code behind a provider's call kinds that depends on the call type alone,
//! instantiated in the provider's crate.
//!
//! Without optimisation rustc shares generic instances between crates
//! (`-Zshare-generics`, the default of debug builds): an instance a dependency already
//! compiled is linked to, not compiled again in the crate that uses it — nor walked again
//! in each of its rebuilds. [`declare_client!`](crate::declare_client) calls the function
//! of each call it declares here, from a hidden function of the provider's crate, so an
//! application's crate compiles only what depends on its own call sites (the probe's
//! closure and one `call` per site): a crate of 200 traced calls rebuilds with ~50 M fewer
//! instructions. In optimised builds, which do not share instances, that function is
//! never called and costs nothing.

use super::call::{CallStart, Started, Timing};
use super::stream::Active;
use crate::provider::{TracedCall, TracedStreamCall};

/// The address of a function, as a number: the instances are kept by being named.
type Address = usize;

/// What a blocking call of `C` runs outside its call site.
#[inline(never)]
pub fn blocking<C: TracedCall>() -> Address {
    let prepare = CallStart::prepare::<C> as fn(&C::Args, Timing, bool) -> CallStart;
    let end = CallStart::end_sync::<C> as fn(&mut CallStart, &Result<C::Response, C::Error>);
    (prepare as Address) ^ (end as Address)
}

/// What an async call of `C` runs outside its call site (its future's type is the
/// client's, known only there).
#[inline(never)]
pub fn asynchronous<C: TracedCall>() -> Address {
    let prepare = CallStart::prepare::<C> as fn(&C::Args, Timing, bool) -> CallStart;
    let finish = Started::finish::<C> as fn(Started, &Result<C::Response, C::Error>);
    (prepare as Address) ^ (finish as Address)
}

/// What a streamed call of `S` runs outside its call site and its stream's type.
#[inline(never)]
pub fn streamed<S: TracedStreamCall>() -> Address {
    type Args<S> = <<S as TracedStreamCall>::Call as TracedCall>::Args;
    type Error<S> = <<S as TracedStreamCall>::Call as TracedCall>::Error;
    let prepare = CallStart::prepare::<S::Call> as fn(&Args<S>, Timing, bool) -> CallStart;
    let new = Active::<S>::new as fn(Started) -> Active<S>;
    let observe = Active::<S>::observe as fn(&mut Active<S>, &S::Item);
    let end = Active::<S>::end as fn(Active<S>);
    let fail = Active::<S>::fail as fn(Active<S>, &Error<S>);
    let cancel = Active::<S>::cancel as fn(Active<S>);
    (prepare as Address)
        ^ (new as Address)
        ^ (observe as Address)
        ^ (end as Address)
        ^ (fail as Address)
        ^ (cancel as Address)
}
