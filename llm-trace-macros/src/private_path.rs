//! The path generated code reaches llm-trace's internals by: `::llm_trace::__private`, or
//! `<path>::__private` with `#[llm_trace(crate = path)]`.
//!
//! Kept as token trees, not a `TokenStream`: generated code names it several times per
//! function, and appending trees costs the compiler's token bridge far less than splicing a
//! stream (the macro runs unoptimised in debug builds).

use proc_macro2::{Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;

/// `::llm_trace::__private` (or the configured crate's `__private`).
#[derive(Clone)]
pub(crate) struct Private(Vec<TokenTree>);

fn push_colon2(trees: &mut Vec<TokenTree>) {
    trees.push(Punct::new(':', Spacing::Joint).into());
    trees.push(Punct::new(':', Spacing::Alone).into());
}

impl Private {
    /// The path under `krate`, or under `::llm_trace` without one.
    pub(crate) fn new(krate: Option<&syn::Path>) -> Private {
        let mut trees = Vec::with_capacity(6);
        match krate {
            Some(path) => trees.extend(path.to_token_stream()),
            None => {
                push_colon2(&mut trees);
                trees.push(Ident::new("llm_trace", Span::call_site()).into());
            }
        }
        push_colon2(&mut trees);
        trees.push(Ident::new("__private", Span::call_site()).into());
        Private(trees)
    }
}

impl Private {
    /// The path's trees.
    pub(crate) fn trees(&self) -> Vec<TokenTree> {
        self.0.clone()
    }
}

impl ToTokens for Private {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.0.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_the_facades_or_the_configured_crates() {
        let text = |private: Private| private.to_token_stream().to_string().replace(' ', "");
        assert_eq!(text(Private::new(None)), "::llm_trace::__private");
        let krate: syn::Path = syn::parse_quote!(my::reexport);
        assert_eq!(text(Private::new(Some(&krate))), "my::reexport::__private");
    }
}
