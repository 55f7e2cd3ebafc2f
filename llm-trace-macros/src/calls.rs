//! Finding candidate client calls in a function body and rewriting them into type probes.
//!
//! Syntax only picks candidates: method calls named like a traced client method with the
//! right number of arguments. Whether a candidate is traced is decided by types, at
//! compile time, by the probe the rewrite produces (see `llm_trace_core::probe`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprMethodCall, Path};

/// Method names of the client calls providers may trace, with their argument counts.
const CANDIDATES: &[(&str, usize)] = &[
    ("chat", 3),
    ("chat_async", 3),
    ("chat_stream", 3),
    ("embeddings", 3),
    ("embeddings_async", 3),
];

/// Whether a method call is a candidate: a traced method's name and argument count.
pub fn is_candidate(call: &ExprMethodCall) -> bool {
    let name = call.method.to_string();
    CANDIDATES
        .iter()
        .any(|(candidate, arity)| *candidate == name && *arity == call.args.len())
}

/// How a candidate's kind is chosen.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Traced when a provider recognises the types, else run as written.
    Auto,
    /// Must be recognised: a compile error otherwise (`traced!`).
    Forced,
}

/// Rewrites every candidate call in a function body, post-order, descending into closures
/// and async blocks but not into nested items or macro invocations.
pub struct CallRewriter<'a> {
    pub krate: &'a Path,
    pub rewritten: usize,
}

impl VisitMut for CallRewriter<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        visit_mut::visit_expr_mut(self, expr);
        if let Expr::MethodCall(call) = expr {
            if is_candidate(call) {
                let rewritten = rewrite(call, self.krate, Mode::Auto);
                *expr = rewritten;
                self.rewritten += 1;
            }
        }
    }

    fn visit_item_mut(&mut self, _item: &mut syn::Item) {
        // Nested functions and impls run outside the annotated function: leave them alone.
    }
}

/// Whether evaluating `expr` twice-free inside a closure is the same as evaluating it in
/// place: a place expression with no calls, `?`, `.await` or control flow.
fn is_pure_place(expr: &Expr) -> bool {
    match expr {
        Expr::Path(_) => true,
        Expr::Field(field) => is_pure_place(&field.base),
        Expr::Paren(paren) => is_pure_place(&paren.expr),
        Expr::Reference(reference) => is_pure_place(&reference.expr),
        Expr::Unary(unary) => matches!(unary.op, syn::UnOp::Deref(_)) && is_pure_place(&unary.expr),
        Expr::Index(index) => {
            is_pure_place(&index.expr) && matches!(&*index.index, Expr::Lit(_) | Expr::Path(_))
        }
        _ => false,
    }
}

/// The probe expression for one candidate call.
pub fn rewrite(call: &ExprMethodCall, krate: &Path, mode: Mode) -> Expr {
    let mixed = Span::mixed_site();
    let start = format_ident!("__llm_trace_start", span = mixed);
    let probe = format_ident!("__llm_trace_probe", span = mixed);
    let hoisted = format_ident!("__llm_trace_receiver", span = mixed);

    let pure_receiver = is_pure_place(&call.receiver);
    let receiver: TokenStream = if pure_receiver {
        let receiver = &call.receiver;
        quote!(#receiver)
    } else {
        let span = call.receiver.span().resolved_at(mixed);
        let ident = syn::Ident::new("__llm_trace_receiver", span);
        quote!(#ident)
    };

    let arg_idents: Vec<syn::Ident> = call
        .args
        .iter()
        .enumerate()
        .map(|(index, arg)| {
            syn::Ident::new(
                &format!("__llm_trace_arg{index}"),
                arg.span().resolved_at(mixed),
            )
        })
        .collect();
    let args = call.args.iter();

    // The call as written, with the receiver and arguments replaced by locals; the method
    // name, turbofish and parentheses keep the user's spans for error messages.
    let method = &call.method;
    let turbofish = &call.turbofish;
    let dot = &call.dot_token;
    let mut inner_args = TokenStream::new();
    call.paren_token.surround(&mut inner_args, |tokens| {
        tokens.extend(quote!(#(#arg_idents),*));
    });
    let inner_call = quote!(#receiver #dot #method #turbofish #inner_args);

    let kind_method = match mode {
        Mode::Auto => format_ident!("__llm_trace_kind", span = mixed),
        Mode::Forced => format_ident!("__llm_trace_forced_kind", span = mixed),
    };
    let private = quote!(#krate::__private);
    let call_span = call.method.span();
    let probed = quote_spanned! {call_span.resolved_at(mixed)=>
        match #private::probe(
            (#(#args,)*),
            |(#(#arg_idents,)*), #start: &mut #private::CallStart| {
                #start.server(
                    (&&&&#private::EndpointProbe(&#receiver)).__llm_trace_endpoint()
                );
                #inner_call
            },
        ) {
            #probe => (&#probe).#kind_method().call(#probe),
        }
    };
    let tokens = if pure_receiver {
        probed
    } else {
        let receiver_expr = &call.receiver;
        quote_spanned! {call_span.resolved_at(mixed)=>
            match #receiver_expr {
                #[allow(unused_mut)]
                mut #hoisted => #probed,
            }
        }
    };
    match syn::parse2::<Expr>(tokens) {
        Ok(expr) => expr,
        Err(error) => Expr::Verbatim(error.to_compile_error()),
    }
}
