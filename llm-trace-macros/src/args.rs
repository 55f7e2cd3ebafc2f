//! Parsing the arguments of `#[llm_trace(...)]`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(name);
}

/// The parsed arguments of `#[llm_trace(...)]`.
#[derive(Default)]
pub struct Args {
    /// `name = "..."`: the function span's name.
    pub name: Option<LitStr>,
    /// `crate = path`: where the `llm_trace` facade is (for renamed dependencies).
    pub krate: Option<Path>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::name) {
                let key: kw::name = input.parse()?;
                if args.name.is_some() {
                    return Err(syn::Error::new(key.span, "`name` is given more than once"));
                }
                input.parse::<Token![=]>()?;
                let value: LitStr = input.parse().map_err(|error| {
                    syn::Error::new(
                        error.span(),
                        "expected a string literal: `name = \"span name\"`",
                    )
                })?;
                if value.value().trim().is_empty() {
                    return Err(syn::Error::new(
                        value.span(),
                        "the span name must not be empty",
                    ));
                }
                args.name = Some(value);
            } else if lookahead.peek(Token![crate]) {
                let key: Token![crate] = input.parse()?;
                if args.krate.is_some() {
                    return Err(syn::Error::new(key.span, "`crate` is given more than once"));
                }
                input.parse::<Token![=]>()?;
                let path = Path::parse_mod_style(input).map_err(|error| {
                    syn::Error::new(
                        error.span(),
                        "expected a path to the llm_trace crate: `crate = ::my_llm_trace`",
                    )
                })?;
                args.krate = Some(path);
            } else if input.peek(syn::Ident) {
                let unknown: syn::Ident = input.parse()?;
                return Err(syn::Error::new(
                    unknown.span(),
                    format!("unknown `llm_trace` argument `{unknown}`; expected `name` or `crate`"),
                ));
            } else {
                return Err(lookahead.error());
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

impl Args {
    /// The path of the facade crate in generated code.
    pub fn krate(&self) -> Path {
        self.krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote_spanned!(Span::call_site()=> ::llm_trace))
    }
}
