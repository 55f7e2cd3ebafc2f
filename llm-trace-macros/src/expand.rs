//! Generating the instrumented function.

use crate::private_path::Private;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::visit_mut::VisitMut;
use syn::{Type, TypeParamBound};

use crate::args::Args;
use crate::function::{Chunk, Function, Signature};
use crate::rewriter::{parent_ident, CallRewriter};

/// How the function's span follows the function.
enum Shape {
    /// A sync function: the span is current for the body and ends on return.
    Sync,
    /// An `async fn`: the body runs in a future that carries the span.
    Async,
    /// A sync function returning `impl Future`: the returned future carries the span.
    ReturnsFuture,
    /// A sync function returning a boxed future — `Pin<Box<dyn Future ...>>` (what
    /// `#[async_trait]` makes of an `async fn`), `BoxFuture` or `LocalBoxFuture`: the
    /// returned future carries the span, boxed again when (and only when) it is traced.
    ReturnsBoxedFuture,
}

/// Whether trait bounds name `Future`.
fn bounds_name_future<'a>(mut bounds: impl Iterator<Item = &'a TypeParamBound>) -> bool {
    bounds.any(|bound| match bound {
        TypeParamBound::Trait(trait_bound) => trait_bound
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Future"),
        _ => false,
    })
}

fn returns_impl_future(output: &Type) -> bool {
    let Type::ImplTrait(impl_trait) = output else {
        return false;
    };
    bounds_name_future(impl_trait.bounds.iter())
}

/// The single generic type argument of a path segment, e.g. `T` of `Pin<T>`.
fn only_type_argument(segment: &syn::PathSegment) -> Option<&Type> {
    let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    let mut types = arguments.args.iter().filter_map(|argument| match argument {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

/// `Pin<Box<dyn Future<Output = T> + ...>>`, as `#[async_trait]` writes it, or the
/// `futures` aliases `BoxFuture<'a, T>` and `LocalBoxFuture<'a, T>`.
fn returns_boxed_future(output: &Type) -> bool {
    let Type::Path(pin) = output else {
        return false;
    };
    if pin.path.segments.last().is_some_and(|s| {
        (s.ident == "BoxFuture" || s.ident == "LocalBoxFuture")
            && matches!(s.arguments, syn::PathArguments::AngleBracketed(_))
    }) {
        return true;
    }
    let Some(pin) = pin.path.segments.last().filter(|s| s.ident == "Pin") else {
        return false;
    };
    let Some(Type::Path(boxed)) = only_type_argument(pin) else {
        return false;
    };
    let Some(boxed) = boxed.path.segments.last().filter(|s| s.ident == "Box") else {
        return false;
    };
    matches!(only_type_argument(boxed), Some(Type::TraitObject(object)) if bounds_name_future(object.bounds.iter()))
}

/// The names bound by the function's arguments.
fn argument_names(sig: &Signature) -> Vec<syn::Ident> {
    fn collect(pattern: &syn::Pat, names: &mut Vec<syn::Ident>) {
        match pattern {
            syn::Pat::Ident(ident) => names.push(ident.ident.clone()),
            syn::Pat::Reference(reference) => collect(&reference.pat, names),
            syn::Pat::Tuple(tuple) => tuple.elems.iter().for_each(|p| collect(p, names)),
            syn::Pat::TupleStruct(tuple) => tuple.elems.iter().for_each(|p| collect(p, names)),
            syn::Pat::Struct(structure) => {
                structure.fields.iter().for_each(|f| collect(&f.pat, names))
            }
            syn::Pat::Type(typed) => collect(&typed.pat, names),
            _ => {}
        }
    }
    let mut names = Vec::new();
    for input in &sig.inputs() {
        if let syn::FnArg::Typed(typed) = input {
            collect(&typed.pat, &mut names);
        }
    }
    names
}

/// The closure building the `fields(...)` attributes, checked against the arguments.
fn fields_closure(args: &Args, sig: &Signature, private: &Private) -> syn::Result<TokenStream> {
    let Some(fields) = &args.fields else {
        return Ok(quote!(::core::option::Option::None));
    };
    let names = argument_names(sig);
    let mut values = Vec::with_capacity(fields.len());
    for field in fields {
        if !names.contains(&field.value) {
            let known = names
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let known = if known.is_empty() {
                "it has none".to_owned()
            } else {
                format!("they are {known}")
            };
            return Err(syn::Error::new(
                field.value.span(),
                format!(
                    "`{}` is not an argument of this function ({known})",
                    field.value
                ),
            ));
        }
        let key = &field.key;
        let value = &field.value;
        // Spanned on the argument, so a value of the wrong type is reported there.
        values.push(quote_spanned!(value.span()=> #private::field(#key, &#value)));
    }
    Ok(quote!(::core::option::Option::Some(
        &|| ::std::vec![#(#values),*]
    )))
}

/// Replaces every `impl Trait` of a type with `_`, so it can annotate a `let`.
struct ImplTraitEraser;

impl VisitMut for ImplTraitEraser {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](impl_trait.impl_token.span),
            });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

/// A first statement of an `async fn`'s body that never runs but returns a value of the
/// declared return type: the body's other returns and its tail then have that type as
/// their expected type, so coercions (`Box<dyn Error>`, `&[T]`, `Pin<Box<dyn Stream>>`)
/// and `?` conversions work as in the plain `async fn`, and type errors are reported
/// where the user wrote them. (tracing-attributes does the same.)
fn fake_return_edge(sig: &Signature) -> TokenStream {
    let (return_type, span) = match (sig.output_type(), sig.output_span()) {
        (Some(mut ty), Some(span)) => {
            ImplTraitEraser.visit_type_mut(&mut ty);
            (ty.into_token_stream(), span)
        }
        // A return type that does not parse is reported by rustc, from the signature.
        (None, Some(span)) => (quote!(_), span),
        _ => (quote!(()), sig.ident.span()),
    };
    let fake = syn::Ident::new("__llm_trace_fake_return", Span::mixed_site());
    quote_spanned! {span=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #fake: #return_type = loop {};
            return #fake;
        }
    }
}

/// With `err`: the return type's span, and the closure that classifies the function's
/// error — its type picks the provider's classification or the type-name fallback — with
/// `value` (a reference to the result, or the future, to check) spanned on the return type, so a function
/// that does not return a `Result` is reported there, once.
fn error_check(
    args: &Args,
    sig: &Signature,
    private: &Private,
    value: &syn::Ident,
    by_ref: bool,
) -> syn::Result<Option<(TokenStream, TokenStream)>> {
    let Some(err) = &args.err else {
        return Ok(None);
    };
    let Some(output) = sig.output_span() else {
        return Err(syn::Error::new(
            err.span,
            "`err` needs a function that returns a `Result`; this one returns `()`",
        ));
    };
    let span = Span::mixed_site().located_at(output);
    let value = syn::Ident::new(&value.to_string(), span);
    let error = syn::Ident::new("__llm_trace_error", Span::mixed_site());
    let classify = quote! {
        |#error| (&#private::ErrorOf(#error)).__llm_trace_fn_error()
    };
    let value = if by_ref {
        quote_spanned!(span=> &#value)
    } else {
        quote!(#value)
    };
    Ok(Some((value, classify)))
}

/// How the function's span starts: the sync scope or (`is_async`) the async span
/// expression, only the one the function needs. With the
/// `tracing` feature, they also get the function's `tracing` span — a static callsite in
/// the user's module (`fn_tracing_span!`) with the span's name and the `fields(...)` keys
/// as fields, recorded at run time (so no user expression is typed against `tracing`'s
/// traits), spanned at the function's name so its line is the function's, as
/// `code.line.number` is.
fn span_start(
    args: &Args,
    ident: &syn::Ident,
    span_name: &TokenStream,
    meta: &TokenStream,
    fields: &TokenStream,
    private: &Private,
    is_async: bool,
) -> TokenStream {
    if cfg!(feature = "tracing") {
        let keys = args.fields.iter().flatten().map(|field| &field.key);
        let tracing_span = respanned(
            quote!(#private::fn_tracing_span!(#span_name #(, #keys)*)),
            ident.span(),
        );
        match is_async {
            false => quote!(#private::FnScope::enter_spanned(#meta, #fields, #tracing_span)),
            true => quote!(#private::start_fn_spanned(#meta, #fields, #tracing_span)),
        }
    } else {
        match is_async {
            false => quote!(#private::FnScope::enter(#meta, #fields)),
            true => quote!(#private::start_fn(#meta, #fields)),
        }
    }
}

/// `tokens`, every one spanned at `span` (for `line!()` in macros they invoke, which
/// reports the line of the outermost invocation's first token).
fn respanned(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respanned(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// Expands `#[llm_trace(args)]` on `function`.
pub(crate) fn expand(args: Args, mut function: Function) -> syn::Result<TokenStream> {
    let sig = &function.sig;
    if let Some(constness) = sig.constness {
        return Err(syn::Error::new(
            constness,
            "`#[llm_trace]` cannot be used on a `const fn`: spans are created at run time",
        ));
    }
    // The return type is parsed only when it may be a future.
    let future_type = (!sig.asyncness
        && sig.output_names(&["Future", "BoxFuture", "LocalBoxFuture"]))
    .then(|| sig.output_type())
    .flatten();
    let shape = if sig.asyncness {
        Shape::Async
    } else if future_type.as_ref().is_some_and(returns_impl_future) {
        Shape::ReturnsFuture
    } else if future_type.as_ref().is_some_and(returns_boxed_future) {
        Shape::ReturnsBoxedFuture
    } else {
        Shape::Sync
    };

    let private = Private::new(args.krate.as_ref());
    let mut rewriter = CallRewriter::new(&private);
    let returns_future = matches!(shape, Shape::ReturnsFuture | Shape::ReturnsBoxedFuture);
    let last = function.body.chunks.len().saturating_sub(1);
    let mut rewritten = 0;
    for (index, chunk) in function.body.chunks.iter_mut().enumerate() {
        let Chunk::Pending(tokens) = chunk else {
            continue;
        };
        // The tail of a function returning a future is its future: for the parser.
        let tail = returns_future && index == last;
        let scanned = (!tail)
            .then(|| crate::scan::rewrite_trees(tokens, &private, &mut rewritten))
            .flatten();
        *chunk = match scanned {
            Some(tokens) => Chunk::Rewritten(tokens),
            None => Chunk::parse(std::mem::take(tokens)),
        };
        if let Chunk::Parsed(stmts) = chunk {
            rewriter.visit_statements(stmts, tail);
        }
    }
    let hands_off = rewriter.hands_off;

    let sig = &function.sig;
    let ident = &sig.ident;
    let fn_name = ident.to_string();
    let span_name = match &args.name {
        Some(name) => name.to_token_stream(),
        None => quote!(#fn_name),
    };
    let mixed = Span::mixed_site();
    let scope = syn::Ident::new("__llm_trace_scope", mixed);
    let span = syn::Ident::new("__llm_trace_span", mixed);
    let future = syn::Ident::new("__llm_trace_future", mixed);
    let parent = parent_ident();
    // Where the function's name is written, read off its span: a literal costs rustc
    // less than expanding `file!()` at every function, and the file is the line's.
    let location = ident.span().unwrap();
    let line = location.line() as u32;
    let file = location.file();
    let fields = fields_closure(&args, sig, &private)?;

    // A constant expression: borrowed, it is promoted to a `'static` without adding an
    // item to the user's crate (each item costs rustc a little in every rebuild).
    let budget_usd = args.budget_usd.map(|usd| {
        let usd = proc_macro2::Literal::f64_suffixed(usd);
        quote!(budget_usd: ::core::option::Option::Some(#usd),)
    });
    let hands_off_field = hands_off.then(|| quote!(hands_off: true,));
    // Spanned on the function's name: a build without a provider feature warns there
    // (the facade's `FnMeta` is deprecated then).
    let fn_meta = syn::Ident::new("FnMeta", ident.span());
    let meta = quote! {
        &#private::#fn_meta {
            span_name: #span_name,
            function: ::core::concat!(::core::module_path!(), "::", #fn_name),
            file: #file,
            line: #line,
            #hands_off_field
            #budget_usd
            ..#private::FN_META_DEFAULT
        }
    };
    // The traits the generated code calls methods of, and only those.
    let kinds: Vec<TokenStream> = [
        (rewritten + rewriter.rewritten > 0, quote!(call_kinds)),
        (hands_off, quote!(handoff_kinds)),
        (args.err.is_some(), quote!(err_kinds)),
    ]
    .into_iter()
    .filter_map(|(needed, kinds)| needed.then_some(kinds))
    .collect();
    let prelude = quote! {
        #(
            #[allow(unused_imports)]
            use #private::#kinds::*;
        )*
    };
    let is_async = matches!(shape, Shape::Async);
    // The scope a sync function enters, or the span an async one starts.
    let started = span_start(&args, ident, &span_name, &meta, &fields, &private, is_async);
    let parent_of_scope = hands_off.then(|| quote!(let #parent = #scope.parent();));
    let statements = function.body.take_statements();
    let body_span = function.body.span();

    let result = syn::Ident::new("__llm_trace_result", mixed);
    let body = match shape {
        // `err`: the body runs in a closure called once, so its `return`s and `?`s give
        // the result to check before the span ends; the closure's return type is the
        // function's (the fake return edge).
        Shape::Sync if args.err.is_some() => {
            let fake_return = fake_return_edge(sig);
            let (checked, classify) =
                error_check(&args, sig, &private, &result, true)?.unwrap_or_default();
            quote_spanned! {body_span=>
                #prelude
                let #scope = #started;
                #parent_of_scope
                let #result = #private::call_once(move || {
                    #fake_return
                    #statements
                });
                #private::FnScope::check(&#scope, #checked, #classify);
                #result
            }
        }
        // The user's statements follow ours in the same block: no extra braces (rustc's
        // `unused_braces` would fire on a one-expression body), the same drop order (the
        // scope, declared first, ends last).
        Shape::Sync => quote! {
            #prelude
            let #scope = #started;
            #parent_of_scope
            #statements
        },
        Shape::Async => {
            let fake_return = fake_return_edge(sig);
            let parent_here = hands_off.then(|| quote!(let #parent = #private::Parent::current();));
            let body = quote_spanned! {body_span=>
                async move {
                    #fake_return
                    #parent_here
                    #statements
                }
            };
            match error_check(&args, sig, &private, &future, false)? {
                Some((checked, classify)) => quote! {
                    #prelude
                    let #span = #started;
                    let #future = #body;
                    #private::FnFuture::checked(#span, #checked, #classify).await
                },
                None => quote! {
                    #prelude
                    let #span = #started;
                    #private::FnFuture::new(#span, #body).await
                },
            }
        }
        Shape::ReturnsFuture => {
            let into_future = match error_check(&args, sig, &private, &future, false)? {
                Some((checked, classify)) => {
                    quote!(#scope.into_future_checked(#checked, #classify))
                }
                None => quote!(#scope.into_future(#future)),
            };
            quote! {
                #prelude
                let #scope = #started;
                #parent_of_scope
                #[allow(clippy::redundant_closure_call)]
                let #future = (|| { #statements })();
                #into_future
            }
        }
        Shape::ReturnsBoxedFuture => {
            let Some(return_type) = &sig.output else {
                return Err(syn::Error::new(
                    Span::call_site(),
                    "llm-trace: internal error: a boxed future without a return type",
                ));
            };
            let into_future = match error_check(&args, sig, &private, &future, false)? {
                Some((checked, classify)) => {
                    quote!(#scope.into_future_checked(#checked, #classify))
                }
                None => quote!(#scope.into_future(#future)),
            };
            quote! {
                #prelude
                let #scope = #started;
                #parent_of_scope
                #[allow(clippy::redundant_closure_call)]
                let #future: #return_type = (|| -> #return_type { #statements })();
                if #scope.is_traced() {
                    ::std::boxed::Box::pin(#into_future)
                } else {
                    #future
                }
            }
        }
    };

    let head = &function.head;
    let inner_attrs = &function.body.inner_attrs;
    Ok(quote! {
        #head {
            #inner_attrs
            #body
        }
    })
}
