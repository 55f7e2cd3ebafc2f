//! The one state llm-trace records with — tracer, metric instruments, content capture mode
//! and policy, price table — held behind one slot and replaced in one step.
//!
//! A traced call reads the state once. The read is lock-free in the common case: each
//! thread keeps the last state it saw, tagged with the slot's generation, and only takes
//! the slot's read lock when the generation moved (after an install). A state can also be
//! installed for one thread's scope ([`enter_scope`]), which wins over the slot; when no
//! scope is live anywhere, that check is one relaxed atomic load.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::content::{CaptureMode, ContentPolicy};
use crate::pricing::PricingTable;

use super::ledger::{Ledger, UsageConfig};
use super::metrics::MetricsSource;
use super::sync;
use super::tracer::TracerSource;

/// Everything a traced call needs from its environment.
#[derive(Clone)]
pub(crate) struct State {
    pub(crate) tracer: TracerSource,
    pub(crate) metrics: MetricsSource,
    pub(crate) capture: CaptureMode,
    pub(crate) policy: ContentPolicy,
    pub(crate) pricing: PricingTable,
    /// Whether call spans get the keys OpenLIT's dashboard reads beyond the spec
    /// (`gen_ai.usage.total_tokens`).
    pub(crate) openlit_compat: bool,
    /// Whether function spans get `openinference.span.kind = CHAIN`.
    pub(crate) openinference: bool,
    /// Where usage is counted and budgets watched; `None` when off.
    pub(crate) usage: Option<Arc<Ledger>>,
}

impl State {
    /// Whether spans and metrics come from the OpenTelemetry global providers.
    fn uses_global_sources(&self) -> bool {
        matches!(self.tracer, TracerSource::Global)
            && matches!(self.metrics, MetricsSource::Global | MetricsSource::Off)
    }
}

impl Default for State {
    /// The state before anyone configured llm-trace: the OpenTelemetry global providers,
    /// no content, the compiled-in prices, OpenLIT compatibility keys, no OpenInference
    /// keys.
    /// no content, the compiled-in prices, usage counted with no key and no budget.
    fn default() -> Self {
        State {
            tracer: TracerSource::Global,
            metrics: MetricsSource::Global,
            capture: CaptureMode::NoContent,
            policy: ContentPolicy::default(),
            pricing: PricingTable::builtin(),
            openlit_compat: true,
            openinference: false,
            usage: Some(Arc::new(Ledger::new(&UsageConfig::default()))),
        }
    }
}

/// Bumped (under the slot's write lock) every time the slot changes.
static GENERATION: AtomicU64 = AtomicU64::new(1);
/// Whether the global state takes spans and metrics from the OpenTelemetry global
/// providers (as before anyone configured llm-trace).
static GLOBAL_SOURCES: AtomicBool = AtomicBool::new(true);
/// Live scopes, process-wide: zero means no thread has a scoped state.
static SCOPES: AtomicUsize = AtomicUsize::new(0);

fn slot() -> &'static RwLock<Arc<State>> {
    static SLOT: OnceLock<RwLock<Arc<State>>> = OnceLock::new();
    SLOT.get_or_init(|| RwLock::new(Arc::new(State::default())))
}

thread_local! {
    /// The last global state this thread read, and the generation it had.
    static CACHED: RefCell<Option<(u64, Arc<State>)>> = const { RefCell::new(None) };
    /// The state of the innermost live scope on this thread.
    static SCOPED: RefCell<Option<Arc<State>>> = const { RefCell::new(None) };
}

/// Whether nothing can record right now: no scope anywhere, the global state uses the
/// global providers, and the global tracer provider is known to be a no-op. Then a traced
/// call reads nothing else — the no-provider path costs a few loads.
#[inline]
pub(crate) fn quiet() -> bool {
    SCOPES.load(Ordering::Relaxed) == 0
        && GLOBAL_SOURCES.load(Ordering::Relaxed)
        && super::tracer::global_known_noop()
}

/// Runs `read` on the state in force on this thread. `R: Default` is what a read yields in
/// the one case it cannot run: during this thread's teardown, when nothing can be traced.
#[inline]
pub(crate) fn with<R: Default>(read: impl FnOnce(&Arc<State>) -> R) -> R {
    let mut read = Some(read);
    if SCOPES.load(Ordering::Relaxed) != 0 {
        if let Some(state) = SCOPED.try_with(|s| s.borrow().clone()).ok().flatten() {
            return read.take().map_or_else(R::default, |read| read(&state));
        }
    }
    let generation = GENERATION.load(Ordering::Acquire);
    let hit = CACHED.try_with(|cell| {
        let cached = cell.try_borrow().ok()?;
        match cached.as_ref() {
            Some((seen, state)) if *seen == generation => read.take().map(|read| read(state)),
            _ => None,
        }
    });
    if let Ok(Some(result)) = hit {
        return result;
    }
    let state = refresh(generation);
    read.take().map_or_else(R::default, |read| read(&state))
}

/// The global state, remembered by this thread as of `generation`.
#[cold]
fn refresh(generation: u64) -> Arc<State> {
    let state = Arc::clone(&sync::read(slot()));
    let _ = CACHED.try_with(|cell| {
        if let Ok(mut cached) = cell.try_borrow_mut() {
            *cached = Some((generation, Arc::clone(&state)));
        }
    });
    state
}

/// The state in force on this thread (its scope's, else the global one).
pub(crate) fn current() -> Arc<State> {
    with(|state| Some(Arc::clone(state))).unwrap_or_else(|| Arc::clone(&sync::read(slot())))
}

/// Replaces the global state.
pub(crate) fn install(state: Arc<State>) {
    publish(&mut sync::write(slot()), state);
}

/// Replaces the global state with `change(current global state)`, atomically.
pub(crate) fn update(change: impl FnOnce(&State) -> State) {
    let mut slot = sync::write(slot());
    let state = Arc::new(change(&slot));
    publish(&mut slot, state);
}

/// Puts `state` in the slot (held locked) and tells the readers.
fn publish(slot: &mut Arc<State>, state: Arc<State>) {
    GLOBAL_SOURCES.store(state.uses_global_sources(), Ordering::Relaxed);
    *slot = state;
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Makes `state` the state of this thread until the guard drops.
pub(crate) fn enter_scope(state: Arc<State>) -> ScopeGuard {
    SCOPES.fetch_add(1, Ordering::AcqRel);
    let previous = SCOPED.try_with(|s| s.replace(Some(state))).ok().flatten();
    ScopeGuard { previous }
}

/// Restores the previous scoped state (if any) when dropped.
pub(crate) struct ScopeGuard {
    previous: Option<Arc<State>>,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = SCOPED.try_with(|s| s.replace(previous));
        SCOPES.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture_of_current() -> CaptureMode {
        with(|state| Some(state.capture)).unwrap()
    }

    #[test]
    fn scopes_nest_and_restore() {
        let spans = Arc::new(State {
            capture: CaptureMode::SpanOnly,
            ..State::default()
        });
        let events = Arc::new(State {
            capture: CaptureMode::EventOnly,
            ..State::default()
        });
        let outer = enter_scope(spans);
        assert_eq!(capture_of_current(), CaptureMode::SpanOnly);
        {
            let _inner = enter_scope(events);
            assert_eq!(capture_of_current(), CaptureMode::EventOnly);
            // Other threads never see this thread's scope.
            let elsewhere = std::thread::spawn(capture_of_current).join().unwrap();
            assert_eq!(elsewhere, current_global_capture());
        }
        assert_eq!(capture_of_current(), CaptureMode::SpanOnly);
        drop(outer);
        assert_eq!(capture_of_current(), current_global_capture());
    }

    fn current_global_capture() -> CaptureMode {
        sync::read(slot()).capture
    }

    #[test]
    fn reads_follow_installs() {
        // Only this test changes the global slot in this binary.
        let before = capture_of_current();
        update(|state| State {
            capture: CaptureMode::SpanAndEvent,
            tracer: TracerSource::Off,
            metrics: MetricsSource::Off,
            ..state.clone()
        });
        assert_eq!(capture_of_current(), CaptureMode::SpanAndEvent);
        let seen = std::thread::spawn(capture_of_current).join().unwrap();
        assert_eq!(seen, CaptureMode::SpanAndEvent);
        // Re-entrant reads (a read inside a read) see the same state.
        let nested = with(|_| Some(capture_of_current())).unwrap();
        assert_eq!(nested, CaptureMode::SpanAndEvent);
        install(Arc::new(State {
            capture: before,
            ..State::default()
        }));
        assert_eq!(capture_of_current(), before);
    }
}
