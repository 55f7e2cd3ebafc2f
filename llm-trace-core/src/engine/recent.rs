//! What this thread's last calls found: the price of each (operation, model) and the usage
//! entry of each (annotated function, model) pair, so a call that ends looks neither up
//! again — no price table search, no lock on the ledger's maps.
//!
//! A few slots per thread, each for one recorder state (by identity: a state whose price
//! table or ledger changed is a new state), operation, function and model; a miss looks
//! both up in the state and takes the least recently filled slot. The entry found is the
//! ledger's own, so a reset of the ledger's period is seen through it (see
//! [`Ledger::account`](super::ledger::Ledger::account)).

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, Weak};

use super::ledger::Entry;
use super::state::State;
use crate::pricing::ModelPrice;
use crate::provider::Operation;

/// Slots per thread: as many (function, model) pairs as a thread alternates between
/// without looking them up again.
const SLOTS: usize = 4;

/// What one call found.
#[derive(Default)]
pub(crate) struct Found<'a> {
    /// The model's price; `None` when it has none or it was not asked for.
    pub(crate) price: Option<ModelPrice>,
    /// The pair's usage entry; `None` when the state counts no usage or it was not asked
    /// for.
    pub(crate) pair: Option<&'a Entry>,
}

struct Slot {
    /// The state's identity (the allocation is kept, so the address is not reused).
    state: Weak<State>,
    operation: Operation,
    function: Option<&'static str>,
    /// The model: borrowed when the provider's is static (most are), so a slot costs no
    /// allocation and matches by address.
    model: Cow<'static, str>,
    /// The price, once asked for: `Some(None)` when the model has none.
    price: Option<Option<ModelPrice>>,
    /// The pair's entry, once asked for.
    pair: Option<Arc<Entry>>,
}

impl Slot {
    fn is_for(
        &self,
        state: &Arc<State>,
        operation: Operation,
        function: Option<&'static str>,
        model: &str,
    ) -> bool {
        std::ptr::eq(self.state.as_ptr(), Arc::as_ptr(state))
            && self.operation == operation
            && same_function(self.function, function)
            && same_str(&self.model, model)
    }
}

/// Equal strings, compared by address first (static strings usually are the same one).
fn same_str(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

fn same_function(a: Option<&'static str>, b: Option<&'static str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_str(a, b),
        (None, None) => true,
        _ => false,
    }
}

#[derive(Default)]
struct Slots {
    slots: [Option<Slot>; SLOTS],
    /// The slot the next miss fills.
    next: usize,
}

thread_local! {
    static RECENT: RefCell<Slots> = RefCell::default();
}

/// What to look up.
#[derive(Clone, Copy)]
pub(crate) struct Wanted {
    /// The model's price.
    pub(crate) price: bool,
    /// The pair's usage entry (when the state counts usage).
    pub(crate) pair: bool,
}

/// Calls `use_found` once with the price of `model` for `operation` in `state`'s table
/// and the usage entry of (`function`, `model`) in its ledger, as `wanted`: remembered by
/// this thread (looked up in `state` the first time).
// The model as a `Cow`: a slot keeps a static one borrowed, without allocating.
#[allow(clippy::ptr_arg)]
pub(crate) fn with(
    state: &Arc<State>,
    operation: Operation,
    function: Option<&'static str>,
    model: &Cow<'static, str>,
    wanted: Wanted,
    mut use_found: impl FnMut(Found<'_>),
) {
    if !(wanted.price || wanted.pair && state.usage.is_some()) {
        return use_found(Found::default());
    }
    let remembered = RECENT.try_with(|recent| {
        // During this thread's teardown, or inside another lookup (never, today): looked up
        // without the slots.
        let Ok(mut recent) = recent.try_borrow_mut() else {
            return false;
        };
        let slot = recent.slot(state, operation, function, model);
        let price = match wanted.price {
            true => *slot
                .price
                .get_or_insert_with(|| state.pricing.price_or_warn(operation, model)),
            false => None,
        };
        let pair = match (&state.usage, wanted.pair) {
            (Some(ledger), true) => Some(
                &**slot
                    .pair
                    .get_or_insert_with(|| ledger.pair_entry(function, model)),
            ),
            _ => None,
        };
        use_found(Found { price, pair });
        true
    });
    if !remembered.unwrap_or(false) {
        let price = match wanted.price {
            true => state.pricing.price_or_warn(operation, model),
            false => None,
        };
        use_found(Found { price, pair: None });
    }
}

impl Slots {
    /// The slot of this call, filled now if none was.
    #[allow(clippy::ptr_arg)] // see `with`
    fn slot(
        &mut self,
        state: &Arc<State>,
        operation: Operation,
        function: Option<&'static str>,
        model: &Cow<'static, str>,
    ) -> &mut Slot {
        let found = self.slots.iter().position(|slot| {
            slot.as_ref()
                .is_some_and(|slot| slot.is_for(state, operation, function, model))
        });
        let index = found.unwrap_or_else(|| {
            let index = self.next;
            self.next = (index + 1) % SLOTS;
            index
        });
        let slot = &mut self.slots[index];
        if found.is_none() {
            *slot = None;
        }
        slot.get_or_insert_with(|| Slot {
            state: Arc::downgrade(state),
            operation,
            function,
            model: model.clone(),
            price: None,
            pair: None,
        })
    }
}
