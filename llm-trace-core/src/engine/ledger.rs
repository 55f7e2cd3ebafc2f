//! A recorder's usage ledger: the totals behind [`Usage`](crate::usage::Usage) — per model,
//! per annotated function, per value of each usage key — and the state of its window and
//! total budgets.
//!
//! One entry per (annotated function, model) pair and per key value, created the first time
//! it is seen (at most the cap of each table; further ones share its `other` entry), then
//! updated under its own small lock: a traced call finds its entries in maps under one read
//! lock — its pair by the function's static name (a pointer) and a short list of models —,
//! allocates nothing, and adds its numbers to each. A call that adds to its pair alone (no
//! usage key, no total budget) takes not even that lock: its thread keeps the pair's entry
//! (see [`recent`](super::recent)) and adds to it directly. The per-model and per-function
//! breakdowns are summed from the pairs when a snapshot is taken. A reset swaps the whole
//! period under the write lock, then seals the old period's pairs before reading them: a
//! call holding a sealed entry is counted in the new period, so every call is counted in
//! exactly one period.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::metrics::FxHasher;
use super::sync;
use crate::budget::{BudgetKind, BudgetState, Budgets};
use crate::usage::{Breakdown, Usage, UsageTotals};

/// The most usage keys a recorder counts by.
pub(crate) const MAX_KEYS: usize = 4;
/// The default cap of distinct values per breakdown.
pub(crate) const DEFAULT_MAX_VALUES: usize = 1000;

/// What a recorder counts by.
#[derive(Clone, Debug)]
pub(crate) struct UsageConfig {
    pub(crate) keys: Vec<String>,
    pub(crate) max_values: usize,
    pub(crate) budgets: Budgets,
}

impl Default for UsageConfig {
    fn default() -> Self {
        UsageConfig {
            keys: Vec::new(),
            max_values: DEFAULT_MAX_VALUES,
            budgets: Budgets::default(),
        }
    }
}

/// What one call adds.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Contribution {
    pub(crate) error: bool,
    pub(crate) cancelled: bool,
    /// Input and output tokens, when the call reported usage.
    pub(crate) usage: Option<(u64, Option<u64>)>,
    /// The exact cost in 10⁻¹⁵ USD, when the call reported usage and was priced.
    pub(crate) cost: Option<u128>,
    /// How long it took, when it finished.
    pub(crate) latency: Option<Duration>,
}

impl Contribution {
    pub(crate) fn units(&self) -> u128 {
        self.cost.unwrap_or(0)
    }

    fn add_to(&self, totals: &mut UsageTotals, late: bool) {
        totals.calls = totals.calls.saturating_add(1);
        totals.errors = totals.errors.saturating_add(u64::from(self.error));
        totals.cancelled = totals.cancelled.saturating_add(u64::from(self.cancelled));
        match self.usage {
            Some((input, output)) => {
                totals.input_tokens = totals.input_tokens.saturating_add(input);
                totals.output_tokens = totals.output_tokens.saturating_add(output.unwrap_or(0));
                match self.cost {
                    Some(cost) => {
                        totals.cost = totals.cost.saturating_add(cost);
                        totals.priced = totals.priced.saturating_add(1);
                    }
                    None => totals.unpriced = totals.unpriced.saturating_add(1),
                }
            }
            None if !self.error => {
                totals.without_usage = totals.without_usage.saturating_add(1);
            }
            None => {}
        }
        totals.late = totals.late.saturating_add(u64::from(late));
        if let Some(latency) = self.latency {
            totals.latency.record(latency);
        }
    }
}

/// The totals of one value (or of a breakdown's `other` or `unset` calls).
#[derive(Debug)]
pub(crate) struct Entry {
    /// The period the entry belongs to.
    period: u64,
    /// The value (the model, for a pair); `None` for `other` and `unset`.
    label: Option<Box<str>>,
    /// The function, for a pair.
    function: Option<&'static str>,
    state: Mutex<EntryState>,
}

#[derive(Debug, Default)]
struct EntryState {
    totals: UsageTotals,
    /// Whether the entry's key budget fired.
    fired: bool,
    /// Whether its period ended: calls adding to it without the period's lock (see
    /// [`Ledger::account`]) count in the new period instead.
    sealed: bool,
}

impl Entry {
    fn new(period: u64, label: Option<Box<str>>) -> Arc<Entry> {
        Arc::new(Entry {
            period,
            label,
            function: None,
            state: Mutex::default(),
        })
    }

    /// Adds a call; with `budget`, says (once) the cost once it is over it.
    fn add(&self, contribution: &Contribution, late: bool, budget: Option<u128>) -> Option<u128> {
        let mut state = sync::lock(&self.state);
        contribution.add_to(&mut state.totals, late);
        let limit = budget?;
        if state.fired || state.totals.cost <= limit {
            return None;
        }
        state.fired = true;
        Some(state.totals.cost)
    }

    /// Adds a call unless the entry's period ended; says whether it did.
    fn add_unless_sealed(&self, contribution: &Contribution, late: bool) -> bool {
        let mut state = sync::lock(&self.state);
        if state.sealed {
            return false;
        }
        contribution.add_to(&mut state.totals, late);
        true
    }

    /// Its totals, once no call adds to it any more.
    fn seal(&self) -> UsageTotals {
        let mut state = sync::lock(&self.state);
        state.sealed = true;
        state.totals.clone()
    }

    fn totals(&self) -> UsageTotals {
        sync::lock(&self.state).totals.clone()
    }

    fn cost(&self) -> u128 {
        sync::lock(&self.state).totals.cost
    }
}

type Map = HashMap<Box<str>, Arc<Entry>, BuildHasherDefault<FxHasher>>;

/// The entries of one breakdown.
#[derive(Debug)]
struct Table {
    values: Map,
    other: Arc<Entry>,
    unset: Arc<Entry>,
    cap: usize,
}

impl Table {
    fn new(period: u64, cap: usize) -> Self {
        Table {
            values: Map::default(),
            other: Entry::new(period, None),
            unset: Entry::new(period, None),
            cap,
        }
    }

    /// The entry of `value` if there is one, or `other` once the cap is reached.
    fn find(&self, value: &str) -> Option<&Arc<Entry>> {
        match self.values.get(value) {
            Some(entry) => Some(entry),
            None if self.values.len() >= self.cap => Some(&self.other),
            None => None,
        }
    }

    fn find_or_insert(&mut self, period: u64, value: &str) -> &Arc<Entry> {
        if !self.values.contains_key(value) && self.values.len() < self.cap {
            self.values
                .insert(value.into(), Entry::new(period, Some(value.into())));
        }
        self.values.get(value).unwrap_or(&self.other)
    }

    fn breakdown(&self) -> Breakdown {
        Breakdown {
            values: self
                .values
                .iter()
                .map(|(value, entry)| (value.to_string(), entry.totals()))
                .collect(),
            other: self.other.totals(),
            unset: self.unset.totals(),
            max_values: self.cap,
        }
    }
}

/// The (function, model) pairs: by the function's name (its address: a static string), then
/// a short list of its models.
#[derive(Debug)]
struct Pairs {
    by_function: HashMap<usize, Vec<Arc<Entry>>, BuildHasherDefault<FxHasher>>,
    count: usize,
    other: Arc<Entry>,
    cap: usize,
}

fn address(function: Option<&'static str>) -> usize {
    function.map_or(0, |name| name.as_ptr() as usize)
}

impl Pairs {
    fn new(period: u64, cap: usize) -> Self {
        Pairs {
            by_function: HashMap::default(),
            count: 0,
            other: Entry::new(period, None),
            cap,
        }
    }

    fn find(&self, function: Option<&'static str>, model: &str) -> Option<&Arc<Entry>> {
        let found = self
            .by_function
            .get(&address(function))
            .and_then(|models| models.iter().find(|e| e.label.as_deref() == Some(model)));
        match found {
            Some(entry) => Some(entry),
            None if self.count >= self.cap => Some(&self.other),
            None => None,
        }
    }

    fn insert(&mut self, period: u64, function: Option<&'static str>, model: &str) {
        if self.find(function, model).is_some() {
            return;
        }
        self.count += 1;
        self.by_function
            .entry(address(function))
            .or_default()
            .push(Arc::new(Entry {
                period,
                label: Some(model.into()),
                function,
                state: Mutex::default(),
            }));
    }

    /// Ends the period of every pair: later calls holding one count in the next period.
    fn seal(&self) {
        for entry in self.by_function.values().flatten() {
            entry.seal();
        }
        self.other.seal();
    }

    /// The per-model and per-function breakdowns.
    fn breakdowns(&self) -> (Breakdown, Breakdown) {
        let mut models = Breakdown {
            max_values: self.cap,
            ..Breakdown::default()
        };
        let mut functions = models.clone();
        for entry in self.by_function.values().flatten() {
            let totals = entry.totals();
            let model = entry.label.as_deref().unwrap_or_default();
            models
                .values
                .entry(model.to_owned())
                .or_default()
                .merge(&totals);
            match entry.function {
                Some(function) => functions
                    .values
                    .entry(function.to_owned())
                    .or_default()
                    .merge(&totals),
                None => functions.unset.merge(&totals),
            }
        }
        models.other = self.other.totals();
        functions.other = models.other.clone();
        (models, functions)
    }
}

/// Everything counted since the start or the last reset.
#[derive(Debug)]
struct Period {
    id: u64,
    pairs: Pairs,
    keys: Box<[Table]>,
    /// What the total budget has seen, when there is one: spent, and whether it fired.
    total: Mutex<(u128, bool)>,
}

impl Period {
    fn new(id: u64, keys: usize, cap: usize) -> Self {
        Period {
            id,
            pairs: Pairs::new(id, cap),
            keys: (0..keys).map(|_| Table::new(id, cap)).collect(),
            total: Mutex::new((0, false)),
        }
    }

    fn usage(&self, keys: &[Box<str>]) -> Usage {
        let (models, functions) = self.pairs.breakdowns();
        let mut total = models.other.clone();
        for totals in models.values.values() {
            total.merge(totals);
        }
        Usage {
            total,
            models,
            functions,
            keys: keys
                .iter()
                .zip(self.keys.iter())
                .map(|(key, table)| (key.to_string(), table.breakdown()))
                .collect(),
        }
    }
}

/// A key entry a call found where it was made, with the key's index.
#[derive(Clone, Debug)]
pub(crate) struct KeyEntry {
    index: usize,
    entry: Arc<Entry>,
}

/// The key entries of one call: one per usage key that has a value in its context.
pub(crate) type KeyEntries = [Option<KeyEntry>; MAX_KEYS];

/// A rolling window budget: sixty slots, each a sixtieth of the window.
#[derive(Debug)]
struct Window {
    length: Duration,
    limit: u128,
    slot: Duration,
    slots: [u128; SLOTS],
    /// The slot number (time / slot) of the newest slot.
    current: u64,
    sum: u128,
    /// When it last fired.
    fired_at: Option<Duration>,
}

const SLOTS: usize = 60;

impl Window {
    fn new(length: Duration, limit: u128) -> Self {
        Window {
            length,
            limit,
            slot: length / SLOTS as u32,
            slots: [0; SLOTS],
            current: 0,
            sum: 0,
            fired_at: None,
        }
    }

    /// Forgets the slots that fell out of the window at `now`.
    fn advance(&mut self, now: Duration) {
        let slot = (now.as_nanos() / self.slot.as_nanos().max(1)) as u64;
        if slot <= self.current {
            return;
        }
        if slot - self.current >= SLOTS as u64 {
            self.slots = [0; SLOTS];
            self.sum = 0;
        } else {
            for passed in self.current + 1..=slot {
                let index = (passed % SLOTS as u64) as usize;
                self.sum -= self.slots[index];
                self.slots[index] = 0;
            }
        }
        self.current = slot;
    }

    /// Adds `cost` at `now`; the sum when that makes the window fire.
    fn add(&mut self, now: Duration, cost: u128) -> Option<u128> {
        self.advance(now);
        let index = (self.current % SLOTS as u64) as usize;
        self.slots[index] = self.slots[index].saturating_add(cost);
        self.sum = self.sum.saturating_add(cost);
        let rearmed = self
            .fired_at
            .is_none_or(|fired| now.saturating_sub(fired) >= self.length);
        if self.sum > self.limit && rearmed {
            self.fired_at = Some(now);
            return Some(self.sum);
        }
        None
    }
}

/// A budget that fired, as the ledger saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Crossed {
    /// A key value's budget: key index, value, limit, spent.
    Key(usize, Box<str>, u128, u128),
    /// A window: its length, limit, spent.
    Window(Duration, u128, u128),
    /// The total budget: limit, spent.
    Total(u128, u128),
}

/// Rate limit of one kind of warning.
#[derive(Debug, Default)]
struct Warning {
    /// Milliseconds after the ledger's origin (plus one; 0 means never) of the last one.
    last: AtomicU64,
    held: AtomicU64,
}

/// Whether any ledger ever built has function budgets or usage keys: until one has, an
/// annotated function's start skips looking for them.
static FUNCTION_SETTINGS: AtomicBool = AtomicBool::new(false);

/// Whether a function's start must look at its recorder's function budgets and usage keys.
#[inline]
pub(crate) fn function_settings_exist() -> bool {
    FUNCTION_SETTINGS.load(Ordering::Relaxed)
}

/// How often a kind of budget warning may be printed.
pub(crate) const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// A recorder's usage and budget state.
pub(crate) struct Ledger {
    config: UsageConfig,
    keys: Box<[Box<str>]>,
    key_budgets: Box<[Option<u128>]>,
    max_values: usize,
    pub(crate) budgets: Budgets,
    period: RwLock<Period>,
    windows: Box<[Mutex<Window>]>,
    origin: Instant,
    warnings: [Warning; 6],
    callback_panicked: AtomicBool,
    /// No usage key, no budget (see [`Ledger::is_plain`]).
    plain: bool,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("keys", &self.keys)
            .field("max_values", &self.max_values)
            .field("budgets", &self.budgets)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    pub(crate) fn new(config: &UsageConfig) -> Self {
        let mut keys: Vec<Box<str>> = Vec::new();
        let budget_keys = config.budgets.keys.iter().map(|(key, _)| key);
        for key in config.keys.iter().chain(budget_keys) {
            if keys.iter().any(|known| **known == **key) {
                continue;
            }
            if keys.len() == MAX_KEYS {
                crate::__llm_trace_diagnostic!(
                    warn,
                    "llm-trace: usage is counted by at most {MAX_KEYS} keys; `{key}` is not counted"
                );
                continue;
            }
            keys.push(key.as_str().into());
        }
        let key_budgets = keys
            .iter()
            .map(|key| {
                config
                    .budgets
                    .keys
                    .iter()
                    .find(|(known, _)| **known == **key)
                    .map(|(_, limit)| *limit)
            })
            .collect();
        let max_values = config.max_values.max(1);
        if !keys.is_empty() || !config.budgets.functions.is_empty() {
            FUNCTION_SETTINGS.store(true, Ordering::Relaxed);
        }
        let plain = keys.is_empty() && config.budgets.is_empty();
        Ledger {
            config: config.clone(),
            period: RwLock::new(Period::new(1, keys.len(), max_values)),
            keys: keys.into_boxed_slice(),
            key_budgets,
            max_values,
            windows: config
                .budgets
                .windows
                .iter()
                .map(|(length, limit)| Mutex::new(Window::new(*length, *limit)))
                .collect(),
            budgets: config.budgets.clone(),
            origin: Instant::now(),
            warnings: Default::default(),
            callback_panicked: AtomicBool::new(false),
            plain,
        }
    }

    /// Whether it counts by no usage key and watches no budget: a call then only adds to
    /// its (function, model) pair.
    pub(crate) fn is_plain(&self) -> bool {
        self.plain
    }

    /// What it was built with.
    pub(crate) fn config(&self) -> &UsageConfig {
        &self.config
    }

    /// The usage keys.
    pub(crate) fn keys(&self) -> &[Box<str>] {
        &self.keys
    }

    /// The time of the windows.
    fn now(&self) -> Duration {
        match &self.budgets.clock {
            Some(clock) => clock(),
            None => self.origin.elapsed(),
        }
    }

    /// The entries of the usage keys' values, as found in a call's context (`value(i)`
    /// gives key `i`'s value there).
    pub(crate) fn key_entries<'v>(
        &self,
        value: impl Fn(&str) -> Option<std::borrow::Cow<'v, str>>,
    ) -> KeyEntries {
        let mut entries: KeyEntries = Default::default();
        let mut values: [Option<std::borrow::Cow<'v, str>>; MAX_KEYS] = Default::default();
        let mut missing = false;
        {
            let period = sync::read(&self.period);
            for (index, key) in self.keys.iter().enumerate() {
                let Some(found) = value(key) else {
                    continue;
                };
                match period.keys[index].find(&found) {
                    Some(entry) => {
                        entries[index] = Some(KeyEntry {
                            index,
                            entry: Arc::clone(entry),
                        })
                    }
                    None => missing = true,
                }
                values[index] = Some(found);
            }
        }
        if missing {
            let mut period = sync::write(&self.period);
            let id = period.id;
            for (index, found) in values.iter().enumerate() {
                if let (None, Some(found)) = (&entries[index], found) {
                    let entry = period.keys[index].find_or_insert(id, found);
                    entries[index] = Some(KeyEntry {
                        index,
                        entry: Arc::clone(entry),
                    });
                }
            }
        }
        entries
    }

    /// The entry of the (`function`, `model`) pair in the current period (its `other` entry
    /// past the cap), made if it is new: for a thread to remember (see
    /// [`recent`](super::recent)) and pass to [`Ledger::account`].
    pub(crate) fn pair_entry(&self, function: Option<&'static str>, model: &str) -> Arc<Entry> {
        if let Some(entry) = sync::read(&self.period).pairs.find(function, model) {
            return Arc::clone(entry);
        }
        let mut period = sync::write(&self.period);
        let id = period.id;
        period.pairs.insert(id, function, model);
        let found = period.pairs.find(function, model);
        Arc::clone(found.unwrap_or(&period.pairs.other))
    }

    /// Counts one call of `model` made in `function`, with its key entries; says which
    /// key, window and total budgets it made fire.
    ///
    /// `pair` is the pair's entry as [`Ledger::pair_entry`] gave it, if the caller kept one:
    /// when the call adds to nothing else of the period (no usage key, no total budget) it
    /// is counted there without the period's lock — unless that period ended, then as any
    /// call.
    pub(crate) fn account(
        &self,
        model: &str,
        function: Option<&'static str>,
        keys: Option<&KeyEntries>,
        contribution: &Contribution,
        late: bool,
        pair: Option<&Entry>,
    ) -> Vec<Crossed> {
        let alone = self.keys.is_empty() && self.budgets.total.is_none();
        if let (Some(pair), true) = (pair, alone) {
            if pair.add_unless_sealed(contribution, late) {
                return self.windows(contribution);
            }
        }
        let counted = {
            let period = sync::read(&self.period);
            self.add(&period, model, function, keys, contribution, late)
        };
        let mut crossed = match counted {
            Some(crossed) => crossed,
            None => {
                // A value seen for the first time (or a period that changed since the call
                // started): insert it under the write lock, and count there.
                let mut period = sync::write(&self.period);
                let id = period.id;
                period.pairs.insert(id, function, model);
                for key in keys.into_iter().flatten().flatten() {
                    if let (true, Some(label)) = (key.entry.period != id, &key.entry.label) {
                        period.keys[key.index].find_or_insert(id, label);
                    }
                }
                self.add(&period, model, function, keys, contribution, late)
                    .unwrap_or_default()
            }
        };
        if !self.windows.is_empty() {
            crossed.extend(self.windows(contribution));
        }
        crossed
    }

    /// Adds the call to its entries if all are there: `Some` with the key budgets that
    /// fired, `None` (nothing added) when an entry is missing.
    fn add(
        &self,
        period: &Period,
        model: &str,
        function: Option<&'static str>,
        keys: Option<&KeyEntries>,
        contribution: &Contribution,
        late: bool,
    ) -> Option<Vec<Crossed>> {
        let pair = period.pairs.find(function, model)?;
        let mut key_entries: [Option<&Arc<Entry>>; MAX_KEYS] = [None; MAX_KEYS];
        for (index, slot) in key_entries.iter_mut().enumerate().take(self.keys.len()) {
            *slot = Some(match keys.and_then(|keys| keys[index].as_ref()) {
                Some(key) if key.entry.period == period.id => &key.entry,
                Some(key) => match &key.entry.label {
                    Some(label) => period.keys[index].find(label)?,
                    None => &period.keys[index].other,
                },
                None => &period.keys[index].unset,
            });
        }
        pair.add(contribution, late, None);
        let mut crossed = Vec::new();
        for (index, entry) in key_entries.iter().enumerate() {
            let Some(entry) = entry else { continue };
            // Values past the cap share `other`, which has no budget of its own.
            let budget = self.key_budgets[index].filter(|_| entry.label.is_some());
            if let Some(spent) = entry.add(contribution, late, budget) {
                let label = entry.label.clone().unwrap_or_default();
                crossed.push(Crossed::Key(index, label, budget.unwrap_or(0), spent));
            }
        }
        if let Some(limit) = self.budgets.total {
            let mut total = sync::lock(&period.total);
            total.0 = total.0.saturating_add(contribution.units());
            if !total.1 && total.0 > limit {
                total.1 = true;
                crossed.push(Crossed::Total(limit, total.0));
            }
        }
        Some(crossed)
    }

    fn windows(&self, contribution: &Contribution) -> Vec<Crossed> {
        let cost = contribution.units();
        if self.windows.is_empty() || contribution.cost.is_none() {
            return Vec::new();
        }
        let now = self.now();
        self.windows
            .iter()
            .filter_map(|window| {
                let mut window = sync::lock(window);
                let (length, limit) = (window.length, window.limit);
                window
                    .add(now, cost)
                    .map(|spent| Crossed::Window(length, limit, spent))
            })
            .collect()
    }

    /// The usage so far.
    pub(crate) fn usage(&self) -> Usage {
        sync::read(&self.period).usage(&self.keys)
    }

    /// The usage so far, starting a new period (totals, key and total budgets from zero).
    pub(crate) fn take_usage(&self) -> Usage {
        let mut period = sync::write(&self.period);
        let next = Period::new(period.id + 1, self.keys.len(), self.max_values);
        let old = std::mem::replace(&mut *period, next);
        drop(period);
        // Calls adding to its entries without the lock now count in the new period.
        old.pairs.seal();
        old.usage(&self.keys)
    }

    /// The state of the window and total budgets, and of the key budgets of the values
    /// `value(key)` gives.
    pub(crate) fn status<'v>(
        &self,
        value: impl Fn(&str) -> Option<std::borrow::Cow<'v, str>>,
    ) -> Vec<BudgetState> {
        let mut states = Vec::new();
        let now = self.now();
        for window in self.windows.iter() {
            let mut window = sync::lock(window);
            window.advance(now);
            states.push(BudgetState {
                kind: BudgetKind::Window,
                limit: window.limit,
                spent: window.sum,
                window: Some(window.length),
                function: None,
                key: None,
            });
        }
        let period = sync::read(&self.period);
        if let Some(limit) = self.budgets.total {
            states.push(BudgetState {
                kind: BudgetKind::Total,
                limit,
                spent: sync::lock(&period.total).0,
                window: None,
                function: None,
                key: None,
            });
        }
        for (index, key) in self.keys.iter().enumerate() {
            let (Some(limit), Some(found)) = (self.key_budgets[index], value(key)) else {
                continue;
            };
            let spent = period.keys[index]
                .values
                .get(&*found)
                .map_or(0, |entry| entry.cost());
            states.push(BudgetState {
                kind: BudgetKind::Key,
                limit,
                spent,
                window: None,
                function: None,
                key: Some((key.to_string(), found.into_owned())),
            });
        }
        states
    }

    /// Whether a warning of `kind` may be printed now; else it is counted as held back.
    /// `Some(held back since the last one)` when it may.
    pub(crate) fn may_warn(&self, kind: BudgetKind) -> Option<u64> {
        let warning = &self.warnings[kind.index()];
        let now = u64::try_from(self.origin.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let last = warning.last.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= WARNING_INTERVAL.as_millis() as u64;
        if !due
            || warning
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            warning.held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(warning.held.swap(0, Ordering::Relaxed))
    }

    /// Marks the callback as panicked; `true` the first time.
    pub(crate) fn callback_panicked(&self) -> bool {
        !self.callback_panicked.swap(true, Ordering::Relaxed)
    }

    /// Whether the callback panicked before.
    pub(crate) fn callback_disabled(&self) -> bool {
        self.callback_panicked.load(Ordering::Relaxed)
    }
}
