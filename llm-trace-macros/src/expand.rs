//! Generating the instrumented function.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::visit_mut::VisitMut;
use syn::{ItemFn, ReturnType, Type, TypeParamBound};

use crate::args::Args;
use crate::rewriter::CallRewriter;

/// How the function's span follows the function.
enum Shape {
    /// A sync function: the span is current for the body and ends on return.
    Sync,
    /// An `async fn`: the body runs in a future that carries the span.
    Async,
    /// A sync function returning `impl Future`: the returned future carries the span.
    ReturnsFuture,
    /// A sync function returning `Pin<Box<dyn Future ...>>` (what `#[async_trait]` makes
    /// of an `async fn`): the returned future carries the span, boxed again.
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

fn returns_impl_future(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return false;
    };
    let Type::ImplTrait(impl_trait) = &**ty else {
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

/// `Pin<Box<dyn Future<Output = T> + ...>>`, as `#[async_trait]` writes it.
fn returns_boxed_future(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return false;
    };
    let Type::Path(pin) = &**ty else {
        return false;
    };
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
fn argument_names(item: &ItemFn) -> Vec<syn::Ident> {
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
    for input in &item.sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            collect(&typed.pat, &mut names);
        }
    }
    names
}

/// The closure building the `fields(...)` attributes, checked against the arguments.
fn fields_closure(args: &Args, item: &ItemFn, private: &TokenStream) -> syn::Result<TokenStream> {
    let Some(fields) = &args.fields else {
        return Ok(quote!(&::std::vec::Vec::new));
    };
    let names = argument_names(item);
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
    Ok(quote!(&|| ::std::vec![#(#values),*]))
}

/// Expands `#[llm_trace(args)] item`.
pub(crate) fn expand(args: Args, mut item: ItemFn) -> syn::Result<TokenStream> {
    if let Some(constness) = &item.sig.constness {
        return Err(syn::Error::new_spanned(
            constness,
            "`#[llm_trace]` cannot be used on a `const fn`: spans are created at run time",
        ));
    }
    let krate = args.krate();
    let shape = if item.sig.asyncness.is_some() {
        Shape::Async
    } else if returns_impl_future(&item.sig.output) {
        Shape::ReturnsFuture
    } else if returns_boxed_future(&item.sig.output) {
        Shape::ReturnsBoxedFuture
    } else {
        Shape::Sync
    };

    let mut rewriter = CallRewriter { krate: &krate };
    rewriter.visit_block_mut(&mut item.block);

    let ident = &item.sig.ident;
    let fn_name = ident.to_string();
    let span_name = match &args.name {
        Some(name) => name.to_token_stream(),
        None => quote!(#fn_name),
    };
    let mixed = Span::mixed_site();
    let meta = syn::Ident::new("__LLM_TRACE_FN", mixed);
    let scope = syn::Ident::new("__llm_trace_scope", mixed);
    let future = syn::Ident::new("__llm_trace_future", mixed);
    let private = quote!(#krate::__private);
    let line = quote_spanned!(ident.span()=> ::core::line!());
    let fields = fields_closure(&args, &item, &private)?;
    let cx = syn::Ident::new("__llm_trace_cx", mixed);

    let prelude = quote! {
        #[allow(unused_imports)]
        use #private::kinds::*;
        static #meta: #private::FnMeta = #private::FnMeta {
            span_name: #span_name,
            function: ::core::concat!(::core::module_path!(), "::", #fn_name),
            file: ::core::file!(),
            line: #line,
        };
    };

    let block = &item.block;
    let body = match shape {
        Shape::Sync => quote! {
            #prelude
            let #scope = #private::FnScope::enter(&#meta, #fields);
            #block
        },
        Shape::Async => quote! {
            #prelude
            let #cx = #private::start_fn(&#meta, #fields);
            #private::FnFuture::new(#cx, async move #block).await
        },
        Shape::ReturnsFuture => quote! {
            #prelude
            let #scope = #private::FnScope::enter(&#meta, #fields);
            #[allow(clippy::redundant_closure_call)]
            let #future = (|| #block)();
            #scope.into_future(#future)
        },
        Shape::ReturnsBoxedFuture => quote! {
            #prelude
            let #scope = #private::FnScope::enter(&#meta, #fields);
            #[allow(clippy::redundant_closure_call)]
            let #future = (|| #block)();
            ::std::boxed::Box::pin(#scope.into_future(#future))
        },
    };

    let attrs = &item.attrs;
    let vis = &item.vis;
    let sig = &item.sig;
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    })
}
