//! Walking a function body and rewriting its candidate client calls.

use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Path};

use crate::calls::{self, Mode};

/// Rewrites every candidate call in a function body, post-order (so a following `?` or
/// `.await` applies to the rewritten call unchanged), descending into closures and async
/// blocks but not into nested items or macro invocations.
pub(crate) struct CallRewriter<'a> {
    pub(crate) krate: &'a Path,
}

impl VisitMut for CallRewriter<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        visit_mut::visit_expr_mut(self, expr);
        match expr {
            Expr::MethodCall(call) if calls::is_candidate_method(call) => {
                *expr = calls::rewrite_method(call, self.krate, Mode::Auto);
            }
            Expr::Call(call) if calls::is_candidate_path_call(call) => {
                *expr = calls::rewrite_path_call(call, self.krate, Mode::Auto);
            }
            _ => {}
        }
    }

    fn visit_item_mut(&mut self, _item: &mut syn::Item) {
        // Nested functions and impls run outside the annotated function: leave them alone.
    }
}
