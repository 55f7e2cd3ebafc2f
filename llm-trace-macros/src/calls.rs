//! Finding candidate client calls in a function body and rewriting them into type probes.
//!
//! Syntax only picks candidates: method calls (`recv.chat(a, b, c)`) and type-path calls
//! (`Client::chat(&recv, a, b, c)`) named like a traced client method with the right
//! number of arguments, none of them a closure (no client method takes one). Whether a
//! candidate is traced is decided by types, at compile time, by the probe the rewrite
//! produces (see `llm_trace_core::__private::Probe`): the receiver must be a declared
//! client and the arguments and result the declared ones. Anything else runs as written.

use crate::private_path::Private;
use proc_macro2::{Delimiter, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprCall, ExprMethodCall, Token};

/// Method names of the client calls providers may trace, with their argument counts.
pub(crate) const CANDIDATES: &[(&str, usize)] = &[
    ("chat", 3),
    ("chat_async", 3),
    ("chat_stream", 3),
    ("embeddings", 3),
    ("embeddings_async", 3),
];

pub(crate) fn is_candidate_name(name: &syn::Ident, arguments: usize) -> bool {
    CANDIDATES
        .iter()
        .any(|(candidate, arity)| name == candidate && *arity == arguments)
}

/// Whether an argument is a closure literal (possibly parenthesized).
fn is_closure(expr: &Expr) -> bool {
    match expr {
        Expr::Closure(_) => true,
        Expr::Paren(paren) => is_closure(&paren.expr),
        _ => false,
    }
}

/// Whether a method call is a candidate: a traced method's name and argument count, and
/// no closure argument.
pub(crate) fn is_candidate_method(call: &ExprMethodCall) -> bool {
    is_candidate_name(&call.method, call.args.len()) && !call.args.iter().any(is_closure)
}

/// Whether a call is a candidate path call `Type::method(receiver, args...)`: the path's
/// last segment a traced method's name, the segment before it a type (capitalised) or a
/// qualified self type, one more argument than the method takes, and no closure argument.
pub(crate) fn is_candidate_path_call(call: &ExprCall) -> bool {
    let Expr::Path(path) = &*call.func else {
        return false;
    };
    let segments = &path.path.segments;
    let Some(last) = segments.last() else {
        return false;
    };
    let typed = path.qself.is_some()
        || segments.len() >= 2
            && segments[segments.len() - 2]
                .ident
                .to_string()
                .starts_with(|c: char| c.is_ascii_uppercase());
    typed
        && !call.args.is_empty()
        && is_candidate_name(&last.ident, call.args.len() - 1)
        && !call.args.iter().any(is_closure)
}

/// How a candidate's kind is chosen.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Traced when a provider recognises the types, else run as written.
    Auto,
    /// Must be recognised: a compile error otherwise (`traced!`).
    Forced,
}

/// Whether `expr` can be named twice (in the receiver probe and in the call) without
/// evaluating anything twice: a place expression with no calls, `?`, `.await` or control
/// flow, or a reference to one.
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

/// The variable a pure place starts from (`self` in `self.client`, `c` in `(*c).x`).
fn place_root(expr: &Expr) -> Option<&syn::Ident> {
    match expr {
        Expr::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
            Some(&path.path.segments[0].ident)
        }
        Expr::Field(field) => place_root(&field.base),
        Expr::Paren(paren) => place_root(&paren.expr),
        Expr::Reference(reference) => place_root(&reference.expr),
        Expr::Unary(unary) => place_root(&unary.expr),
        Expr::Index(index) => place_root(&index.expr),
        _ => None,
    }
}

/// Whether any token of `tokens` is the identifier `name`.
fn mentions(tokens: TokenStream, name: &syn::Ident) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == *name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
}

/// `tokens`, each at its own place but resolved as code of this macro's expansion: the
/// receiver's second copy (in the probe) must not report the user's lints a second time
/// (rustc does not report most lints in code an external macro expanded to).
fn as_expansion(tokens: TokenStream) -> TokenStream {
    tokens.into_iter().map(as_expansion_tree).collect()
}

/// One token of [`as_expansion`] (a group with everything inside it).
fn as_expansion_tree(token: TokenTree) -> TokenTree {
    let span = Span::call_site().located_at(token.span());
    match token {
        TokenTree::Group(group) => {
            let mut copy = proc_macro2::Group::new(group.delimiter(), as_expansion(group.stream()));
            copy.set_span(span);
            TokenTree::Group(copy)
        }
        mut other => {
            other.set_span(span);
            other
        }
    }
}

/// The two ways a candidate call is written.
enum Shape {
    /// `recv.method::<..>(args...)`: the tokens between the receiver and the parentheses
    /// (the dot, the name, a turbofish), and the parentheses.
    Method {
        between: TokenStream,
        paren: syn::token::Paren,
    },
    /// `Type::method(recv, args...)`: the path, and the parentheses.
    Path {
        func: TokenStream,
        paren: syn::token::Paren,
    },
}

/// A candidate call, taken apart: its receiver, its arguments, and how it is written.
struct Candidate {
    receiver: TokenStream,
    /// Whether the receiver is a place that can be named twice (see [`is_pure_place`]).
    pure: bool,
    /// The variable a pure receiver starts from.
    root: Option<syn::Ident>,
    args: Vec<TokenStream>,
    shape: Shape,
    /// The span rustc points at for the call as a whole.
    span: Span,
    /// The spans of the call's first token and of its parentheses: the rewritten
    /// expression spans the same source, as the user's code (see [`users_expression`]).
    first: Span,
    parens: Span,
}

/// The span of the first token of `tokens`.
fn first_span(tokens: &TokenStream) -> Span {
    tokens
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span())
}

impl Candidate {
    /// The call as written, with the receiver and arguments replaced by `receiver` and
    /// `args`; the method name, path, turbofish and parentheses keep the user's spans.
    fn call(&self, receiver: TokenStream, args: &[syn::Ident]) -> TokenStream {
        match &self.shape {
            Shape::Method { between, paren } => {
                let mut inner = TokenStream::new();
                paren.surround(&mut inner, |tokens| {
                    tokens.extend(quote!(#(#args),*));
                });
                quote!(#receiver #between #inner)
            }
            Shape::Path { func, paren } => {
                let mut inner = TokenStream::new();
                paren.surround(&mut inner, |tokens| {
                    let all: Punctuated<TokenStream, Token![,]> = std::iter::once(receiver)
                        .chain(args.iter().map(ToTokens::to_token_stream))
                        .collect();
                    all.to_tokens(tokens);
                });
                quote!(#func #inner)
            }
        }
    }
}

/// The probe expression for a candidate method call.
pub(crate) fn rewrite_method(call: &ExprMethodCall, private: &Private, mode: Mode) -> Expr {
    let dot = &call.dot_token;
    let method = &call.method;
    let turbofish = &call.turbofish;
    let candidate = Candidate {
        receiver: call.receiver.to_token_stream(),
        pure: is_pure_place(&call.receiver),
        root: place_root(&call.receiver).cloned(),
        args: call.args.iter().map(ToTokens::to_token_stream).collect(),
        shape: Shape::Method {
            between: quote!(#dot #method #turbofish),
            paren: call.paren_token,
        },
        span: call.method.span(),
        first: call.receiver.span(),
        parens: call.paren_token.span.join(),
    };
    Expr::Verbatim(rewrite(candidate, private, mode))
}

/// A candidate method call taken apart from its tokens (see `scan`).
pub(crate) struct PlainCall<'a> {
    pub(crate) receiver: Vec<TokenTree>,
    pub(crate) pure: bool,
    pub(crate) root: Option<syn::Ident>,
    pub(crate) args: Vec<Vec<TokenTree>>,
    pub(crate) dot: &'a proc_macro2::Punct,
    pub(crate) method: &'a syn::Ident,
    pub(crate) parens: &'a proc_macro2::Group,
}

impl PlainCall<'_> {
    /// The probe expression for the call, as token trees.
    pub(crate) fn rewrite(self, private: &Private) -> Vec<TokenTree> {
        let uses_receiver = self.root.as_ref().is_some_and(|root| {
            self.args
                .iter()
                .any(|arg| arg.iter().any(|token| mentions_tree(token, root)))
        });
        if self.pure && !uses_receiver {
            return self.rewrite_plain(private);
        }
        let (dot, method) = (self.dot, self.method);
        let receiver: TokenStream = self.receiver.into_iter().collect();
        let candidate = Candidate {
            first: first_span(&receiver),
            receiver,
            pure: self.pure,
            root: self.root,
            args: self.args.into_iter().map(TokenStream::from_iter).collect(),
            shape: Shape::Method {
                between: quote!(#dot #method),
                paren: syn::token::Paren {
                    span: self.parens.delim_span(),
                },
            },
            span: method.span(),
            parens: self.parens.span(),
        };
        rewrite(candidate, private, Mode::Auto)
            .into_iter()
            .collect()
    }

    /// [`rewrite`]'s output for the common case — a receiver that can be named twice and
    /// arguments that do not use it — built as trees: every group's stream is made once,
    /// which costs the compiler's token bridge a fraction of splicing streams.
    fn rewrite_plain(self, private: &Private) -> Vec<TokenTree> {
        let mixed = Span::mixed_site();
        let call_site = Span::call_site();
        let first = self.receiver.first().map_or(call_site, TokenTree::span);
        let arg_idents: Vec<Ident> = self
            .args
            .iter()
            .enumerate()
            .map(|(index, arg)| {
                let span = arg.first().map_or(call_site, TokenTree::span);
                Ident::new(&format!("__llm_trace_arg{index}"), span.resolved_at(mixed))
            })
            .collect();
        // The receiver's copy in the probe, resolved as this expansion's code.
        let copy = self
            .receiver
            .iter()
            .cloned()
            .map(as_expansion_tree)
            .collect();
        // The call as written, on the argument locals.
        let mut inner = self.receiver;
        inner.push(self.dot.clone().into());
        inner.push(self.method.clone().into());
        inner.push(group(
            Delimiter::Parenthesis,
            Some(self.parens.span()),
            separated(&arg_idents),
        ));
        // The user's arguments, as a tuple.
        let mut args = Vec::new();
        for arg in self.args {
            args.extend(arg);
            args.push(Punct::new(',', Spacing::Alone).into());
        }
        let args = vec![group(Delimiter::Parenthesis, None, args)];
        let span = self.method.span().resolved_at(mixed);
        let probe = probe_call(private, span, [separated(&arg_idents), copy, inner, args]);
        users_expression(probe, private, first, self.parens.span())
    }
}

/// `__private::probe_call! { (idents) [copy] [inner] [args] }` from the four parts'
/// contents: the probe of one call site, the macro's name spanned at `span` (the method's).
fn probe_call(private: &Private, span: Span, parts: [Vec<TokenTree>; 4]) -> Vec<TokenTree> {
    let [idents, copy, inner, args] = parts;
    let mut probe = private.trees();
    push_colon2(&mut probe, Span::call_site());
    probe.push(Ident::new("probe_call", span).into());
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    probe.push(bang.into());
    probe.push(group(
        Delimiter::Brace,
        None,
        vec![
            group(Delimiter::Parenthesis, None, idents),
            group(Delimiter::Bracket, None, copy),
            group(Delimiter::Bracket, None, inner),
            group(Delimiter::Bracket, None, args),
        ],
    ));
    probe
}

/// `idents`, separated by commas.
fn separated(idents: &[Ident]) -> Vec<TokenTree> {
    let mut trees = Vec::with_capacity(idents.len() * 2);
    for (index, ident) in idents.iter().enumerate() {
        if index > 0 {
            trees.push(Punct::new(',', Spacing::Alone).into());
        }
        trees.push(ident.clone().into());
    }
    trees
}

/// A group of `trees`, spanned at `span` (else at the call site).
fn group(delimiter: Delimiter, span: Option<Span>, trees: Vec<TokenTree>) -> TokenTree {
    let mut group = proc_macro2::Group::new(delimiter, trees.into_iter().collect());
    if let Some(span) = span {
        group.set_span(span);
    }
    group.into()
}

/// `::`, spanned at `span`.
fn push_colon2(trees: &mut Vec<TokenTree>, span: Span) {
    let mut joint = Punct::new(':', Spacing::Joint);
    joint.set_span(span);
    let mut alone = Punct::new(':', Spacing::Alone);
    alone.set_span(span);
    trees.push(joint.into());
    trees.push(alone.into());
}

/// Whether `token` is, or a group holding, the identifier `name`.
fn mentions_tree(token: &TokenTree, name: &syn::Ident) -> bool {
    match token {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    }
}

/// The probe expression for a candidate path call `Type::method(receiver, args...)`.
pub(crate) fn rewrite_path_call(call: &ExprCall, private: &Private, mode: Mode) -> Expr {
    let mut args = call.args.iter();
    let Some(receiver) = args.next() else {
        return Expr::Call(call.clone());
    };
    let candidate = Candidate {
        receiver: receiver.to_token_stream(),
        pure: is_pure_place(receiver),
        root: place_root(receiver).cloned(),
        args: args.map(ToTokens::to_token_stream).collect(),
        shape: Shape::Path {
            func: call.func.to_token_stream(),
            paren: call.paren_token,
        },
        span: call.func.span(),
        first: call.func.span(),
        parens: call.paren_token.span.join(),
    };
    Expr::Verbatim(rewrite(candidate, private, mode))
}

fn rewrite(candidate: Candidate, private: &Private, mode: Mode) -> TokenStream {
    let mixed = Span::mixed_site();
    let start = format_ident!("__llm_trace_start", span = mixed);
    let probe = format_ident!("__llm_trace_probe", span = mixed);
    let hoisted = format_ident!("__llm_trace_receiver", span = mixed);
    let args_local = format_ident!("__llm_trace_args", span = mixed);

    let pure = candidate.pure;
    let receiver: TokenStream = if pure {
        candidate.receiver.clone()
    } else {
        let span = first_span(&candidate.receiver).resolved_at(mixed);
        syn::Ident::new("__llm_trace_receiver", span).into_token_stream()
    };
    let arg_idents: Vec<syn::Ident> = candidate
        .args
        .iter()
        .enumerate()
        .map(|(index, arg)| {
            syn::Ident::new(
                &format!("__llm_trace_arg{index}"),
                first_span(arg).resolved_at(mixed),
            )
        })
        .collect();
    let inner_call = candidate.call(receiver.clone(), &arg_idents);
    let probe_copy = if pure {
        as_expansion(receiver)
    } else {
        receiver
    };

    let kind_method = match mode {
        Mode::Auto => format_ident!("__llm_trace_kind", span = mixed),
        Mode::Forced => format_ident!("__llm_trace_forced_kind", span = mixed),
    };
    let span = candidate.span.resolved_at(mixed);
    let probed = |args: TokenStream| match mode {
        // The probe itself is `__private::probe_call!`'s, spanned here at the method.
        Mode::Auto => {
            let trees = |tokens: &TokenStream| tokens.clone().into_iter().collect();
            let parts = [
                separated(&arg_idents),
                trees(&probe_copy),
                trees(&inner_call),
                trees(&args),
            ];
            probe_call(private, span, parts).into_iter().collect()
        }
        Mode::Forced => quote_spanned! {span=>
            match #private::probe(
                |(#(#arg_idents,)*), #start: &mut #private::CallStart| (
                    (&&&&&#private::Receiver(&#probe_copy)).__llm_trace_receiver().begin(#start),
                    #inner_call,
                ),
            ) {
                #probe => (&&&&#probe.types).#kind_method().call(#probe, #args),
            }
        },
    };
    let args = &candidate.args;
    // The probe's closure is type-checked before the arguments, so they get the method's
    // expected types. It captures the receiver when created, before the arguments run:
    // when they use the receiver's variable, evaluate them first, as written.
    let args_use_receiver = pure
        && candidate
            .root
            .as_ref()
            .is_some_and(|root| args.iter().any(|arg| mentions(arg.clone(), root)));
    let tokens = if args_use_receiver {
        let call = probed(args_local.to_token_stream());
        quote_spanned! {span=>
            match (#(#args,)*) {
                #args_local => #call,
            }
        }
    } else {
        probed(quote!((#(#args,)*)))
    };
    let tokens = if pure {
        tokens
    } else {
        let receiver_expr = &candidate.receiver;
        quote_spanned! {span=>
            match #receiver_expr {
                #[allow(unused_mut)]
                mut #hoisted => #tokens,
            }
        }
    };
    // Already a call expression (`__private::expr(..)`): kept as tokens rather than parsed
    // again, which would cost as much as parsing the user's whole function.
    let tokens = tokens.into_iter().collect();
    users_expression(tokens, private, candidate.first, candidate.parens)
        .into_iter()
        .collect()
}

/// `__private::expr(tokens)`, spanned so the expression covers the call as the user wrote
/// it, from its first token to its closing parenthesis, in the user's own context: rustc
/// then reports errors about the call's value (a missing `.await`, a wrong `?`) there,
/// with its usual suggestions, and lints its value (`#[must_use]`) as the user's code.
/// The generated code inside keeps its own context, so no lint fires on it.
fn users_expression(
    tokens: Vec<TokenTree>,
    private: &Private,
    first: Span,
    parens: Span,
) -> Vec<TokenTree> {
    let mut callee = private.trees();
    for token in &mut callee {
        token.set_span(first);
    }
    push_colon2(&mut callee, first);
    callee.push(Ident::new("expr", first).into());
    callee.push(group(Delimiter::Parenthesis, Some(parens), tokens));
    callee
}
