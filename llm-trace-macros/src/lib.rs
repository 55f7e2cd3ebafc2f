//! Procedural macros of [llm-trace](https://docs.rs/llm-trace): `#[llm_trace]` and
//! `traced!`. Use them through the `llm-trace` facade, which documents them; the generated
//! code names only `::llm_trace::__private` paths.

mod args;
mod calls;
mod expand;
mod function;
mod private_path;
mod rewriter;
mod scan;

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;

/// Traces a function and the LLM client calls in its body. See `llm_trace::llm_trace`.
#[proc_macro_attribute]
pub fn llm_trace(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item2 = proc_macro2::TokenStream::from(item.clone());
    let args = match syn::parse::<args::Args>(attr) {
        Ok(args) => args,
        Err(error) => return with_original(error, item2),
    };
    let function = match function::Function::parse(item2.clone()) {
        Some(function) => function,
        None => match syn::parse::<syn::Item>(item) {
            // A function the token-level reading did not take apart: from syn's parse.
            Ok(syn::Item::Fn(function)) => function::Function::from_item(function),
            // Not a function with a body: say so on the item, or give syn's own error.
            Ok(other) => {
                let error = syn::Error::new(
                    first_token_span(&other),
                    "`#[llm_trace]` can only be applied to functions and methods with a body",
                );
                return with_original(error, item2);
            }
            Err(error) => return with_original(error, item2),
        },
    };
    match expand::expand(args, function) {
        Ok(tokens) => tokens.into(),
        Err(error) => with_original(error, item2),
    }
}

/// The span of an item's first token (its keyword, or its first attribute).
fn first_token_span(item: &syn::Item) -> proc_macro2::Span {
    quote!(#item)
        .into_iter()
        .find(|token| !matches!(token, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#'))
        .map_or_else(|| item.span(), |token| token.span())
}

/// The error beside the unchanged item, so rustc still reports the user's own mistakes.
fn with_original(error: syn::Error, item: proc_macro2::TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#error #item).into()
}

/// `traced!(client.chat(...))` input: the call, and an optional `crate = path` first.
struct TracedInput {
    krate: Option<syn::Path>,
    call: syn::Expr,
}

impl Parse for TracedInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut krate = None;
        if input.peek(syn::Token![crate]) && input.peek2(syn::Token![=]) {
            input.parse::<syn::Token![crate]>()?;
            input.parse::<syn::Token![=]>()?;
            krate = Some(syn::Path::parse_mod_style(input)?);
            input.parse::<syn::Token![,]>()?;
        }
        let expr: syn::Expr = input.parse()?;
        if !input.is_empty() {
            return Err(input.error("`traced!` takes exactly one method call"));
        }
        match &expr {
            syn::Expr::MethodCall(_) | syn::Expr::Call(_) => Ok(TracedInput { krate, call: expr }),
            other => Err(syn::Error::new_spanned(
                other,
                "`traced!` takes one client method call, e.g. `traced!(client.chat(model, messages, None))`",
            )),
        }
    }
}

/// Traces one client call explicitly. See `llm_trace::traced`.
#[proc_macro]
pub fn traced(input: TokenStream) -> TokenStream {
    let input = match syn::parse::<TracedInput>(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error().into(),
    };
    let krate = input
        .krate
        .unwrap_or_else(|| syn::parse_quote!(::llm_trace));
    let private = private_path::Private::new(Some(&krate));
    let rewritten = match &input.call {
        syn::Expr::MethodCall(call) => calls::rewrite_method(call, &private, calls::Mode::Forced),
        syn::Expr::Call(call) => calls::rewrite_path_call(call, &private, calls::Mode::Forced),
        other => other.clone(),
    };
    quote!({
        #[allow(unused_imports)]
        use #krate::__private::kinds::*;
        #rewritten
    })
    .into()
}
