//! Walking a function body: rewriting its candidate client calls, and handing the
//! function's span to the work it sends elsewhere.

use crate::private_path::Private;
use proc_macro2::Span;
use syn::visit_mut::{self, VisitMut};
use syn::Expr;

use crate::calls::{self, Mode};

/// Calls that run their arguments elsewhere: `tokio::spawn`, `spawn_blocking`,
/// `std::thread::spawn`, `JoinSet::spawn`, `scope.spawn`, ...
pub(crate) const SPAWNERS: &[&str] = &["spawn", "spawn_blocking", "spawn_local"];

/// The function-level local holding the function's span for handed-off work.
pub(crate) fn parent_ident() -> syn::Ident {
    syn::Ident::new("__llm_trace_parent", Span::mixed_site())
}

/// Rewrites every candidate call in a function body, post-order (so a following `?` or
/// `.await` applies to the rewritten call unchanged), descending into closures and async
/// blocks but not into nested items or macro invocations.
///
/// `move` closures and `async move` blocks that contain a client call, or are handed to a
/// spawner, carry the function's span (see `llm_trace_core::__private::Parent`); so do
/// futures handed to a spawner. Closures without `move` run where they were written or
/// borrow from it: they are left as they are.
pub(crate) struct CallRewriter<'a> {
    /// The path of the facade's `__private` module in generated code.
    pub(crate) private: &'a Private,
    /// Candidate calls rewritten so far.
    pub(crate) rewritten: usize,
    /// Whether the body hands work off (then it needs the function-level parent).
    pub(crate) hands_off: bool,
}

impl<'a> CallRewriter<'a> {
    pub(crate) fn new(private: &'a Private) -> Self {
        CallRewriter {
            private,
            rewritten: 0,
            hands_off: false,
        }
    }

    /// Rewrites a run of a function body's statements; `tail` when the run ends the body
    /// of a function that returns a future: the `async` block it returns (`async move
    /// { .. }`, `Box::pin(async move { .. })`) runs under the function's span already, so
    /// it does not carry it again.
    pub(crate) fn visit_statements(&mut self, stmts: &mut [syn::Stmt], tail: bool) {
        let Some((syn::Stmt::Expr(last, None), rest)) = stmts.split_last_mut().filter(|_| tail)
        else {
            return stmts.iter_mut().for_each(|stmt| self.visit_stmt_mut(stmt));
        };
        for stmt in rest {
            self.visit_stmt_mut(stmt);
        }
        match last {
            Expr::Async(returned) => visit_mut::visit_expr_async_mut(self, returned),
            Expr::Call(call)
                if call.args.len() == 1
                    && matches!(call.args.first(), Some(Expr::Async(_)))
                    && matches!(&*call.func, Expr::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "pin")) =>
            {
                self.visit_expr_mut(&mut call.func);
                if let Some(Expr::Async(returned)) = call.args.first_mut() {
                    visit_mut::visit_expr_async_mut(self, returned);
                }
            }
            other => self.visit_expr_mut(other),
        }
    }

    /// Visits a move closure or async move block, and makes it carry the parent when it
    /// contains a client call or `force` says it is handed off.
    fn visit_carrier(&mut self, expr: &mut Expr, force: bool) {
        let before = self.rewritten;
        match &mut *expr {
            Expr::Closure(closure) => visit_mut::visit_expr_closure_mut(self, closure),
            Expr::Async(block) => visit_mut::visit_expr_async_mut(self, block),
            other => visit_mut::visit_expr_mut(self, other),
        }
        if (force || self.rewritten > before) && carry_parent(expr, self.private) {
            self.hands_off = true;
        }
    }

    /// Visits one argument handed to a spawner.
    fn visit_handoff(&mut self, arg: &mut Expr) {
        match arg {
            Expr::Closure(closure) if closure.capture.is_some() && closure.asyncness.is_none() => {
                self.visit_carrier(arg, true)
            }
            Expr::Async(block) if block.capture.is_some() => self.visit_carrier(arg, true),
            Expr::Closure(_) | Expr::Async(_) => self.visit_expr_mut(arg),
            _ => {
                self.visit_expr_mut(arg);
                let private = self.private;
                let parent = parent_ident();
                let value = &*arg;
                let handoff = syn::Ident::new("__llm_trace_handoff", Span::mixed_site());
                *arg = syn::parse_quote! {
                    match #private::Handoff(#value) {
                        #handoff => (&#handoff).__llm_trace_handoff().handoff(#handoff, #parent),
                    }
                };
                self.hands_off = true;
            }
        }
    }
}

fn is_spawner(name: &syn::Ident) -> bool {
    SPAWNERS.iter().any(|spawner| name == spawner)
}

/// Makes a move closure (sync) or an async move block run under the function's span when
/// nothing else is current; returns whether it did.
fn carry_parent(expr: &mut Expr, private: &Private) -> bool {
    let parent = parent_ident();
    let entered = syn::Ident::new("__llm_trace_entered", Span::mixed_site());
    match expr {
        Expr::Closure(closure) if closure.capture.is_some() && closure.asyncness.is_none() => {
            let enter: syn::Stmt = syn::parse_quote! {
                let #entered = #private::Parent::enter(#parent);
            };
            match &mut *closure.body {
                Expr::Block(block) if block.label.is_none() && block.attrs.is_empty() => {
                    block.block.stmts.insert(0, enter);
                }
                body => {
                    let inner = &*body;
                    *body = syn::parse_quote!({ #enter #inner });
                }
            }
            true
        }
        Expr::Async(block) if block.capture.is_some() => {
            let inner = &*block;
            *expr = syn::parse_quote!(#private::Parent::wrap(#parent, #inner));
            true
        }
        _ => false,
    }
}

impl VisitMut for CallRewriter<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Call(call) if matches!(&*call.func, Expr::Path(path) if path.path.segments.last().is_some_and(|s| is_spawner(&s.ident))) =>
            {
                self.visit_expr_mut(&mut call.func);
                for arg in call.args.iter_mut() {
                    self.visit_handoff(arg);
                }
                return;
            }
            Expr::MethodCall(call) if is_spawner(&call.method) => {
                self.visit_expr_mut(&mut call.receiver);
                for arg in call.args.iter_mut() {
                    self.visit_handoff(arg);
                }
                return;
            }
            Expr::Closure(closure) if closure.capture.is_some() && closure.asyncness.is_none() => {
                self.visit_carrier(expr, false);
                return;
            }
            Expr::Async(block) if block.capture.is_some() => {
                self.visit_carrier(expr, false);
                return;
            }
            _ => {}
        }
        visit_mut::visit_expr_mut(self, expr);
        match expr {
            Expr::MethodCall(call) if calls::is_candidate_method(call) => {
                *expr = calls::rewrite_method(call, self.private, Mode::Auto);
                self.rewritten += 1;
            }
            Expr::Call(call) if calls::is_candidate_path_call(call) => {
                *expr = calls::rewrite_path_call(call, self.private, Mode::Auto);
                self.rewritten += 1;
            }
            _ => {}
        }
    }

    fn visit_item_mut(&mut self, _item: &mut syn::Item) {
        // Nested functions and impls run outside the annotated function: leave them alone.
    }
}
