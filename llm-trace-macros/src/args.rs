//! Parsing the arguments of `#[llm_trace(...)]`.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(fields);
    syn::custom_keyword!(err);
    syn::custom_keyword!(budget_usd);
}

/// One `key = argument` of `fields(...)`.
pub(crate) struct Field {
    /// The attribute key, e.g. `gen_ai.conversation.id`.
    pub(crate) key: LitStr,
    /// The function argument giving the value.
    pub(crate) value: syn::Ident,
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = if input.peek(LitStr) {
            input.parse::<LitStr>()?
        } else {
            // A dotted key: `gen_ai.conversation.id`.
            let first = input.call(syn::Ident::parse_any).map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "expected an attribute key: `gen_ai.conversation.id = argument`",
                )
            })?;
            let mut text = first.to_string();
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                let next = input.call(syn::Ident::parse_any)?;
                text.push('.');
                text.push_str(&next.to_string());
            }
            LitStr::new(&text, first.span())
        };
        if key.value().is_empty() {
            return Err(syn::Error::new(
                key.span(),
                "the attribute key must not be empty",
            ));
        }
        input.parse::<Token![=]>()?;
        let value: syn::Ident = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the name of one of the function's arguments",
            )
        })?;
        Ok(Field { key, value })
    }
}

/// The parsed arguments of `#[llm_trace(...)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// `name = "..."`: the function span's name.
    pub(crate) name: Option<LitStr>,
    /// `crate = path`: where the `llm_trace` facade is (for renamed dependencies).
    pub(crate) krate: Option<Path>,
    /// `fields(key = argument, ...)`: span attributes from the function's arguments.
    pub(crate) fields: Option<Vec<Field>>,
    /// `err`: an `Err` returned by the function marks its span ERROR.
    pub(crate) err: Option<kw::err>,
    /// `budget_usd = 0.01`: the most one invocation's calls may cost before an alert.
    pub(crate) budget_usd: Option<f64>,
}

/// The most a budget may be, USD (as `llm_trace::budget::Budgets` accepts).
const MAX_BUDGET_USD: f64 = 1e9;

/// The number of `budget_usd = <number>`.
fn parse_budget(input: ParseStream<'_>) -> syn::Result<f64> {
    let invalid = |span: Span| {
        syn::Error::new(
            span,
            "expected an amount of USD: `budget_usd = 0.01` (from 0 to 1000000000)",
        )
    };
    let lit: syn::Lit = input.parse().map_err(|error| invalid(error.span()))?;
    let value = match &lit {
        syn::Lit::Float(float) => float.base10_parse::<f64>().ok(),
        syn::Lit::Int(int) => int.base10_parse::<f64>().ok(),
        _ => None,
    };
    match value {
        Some(value) if value.is_finite() && (0.0..=MAX_BUDGET_USD).contains(&value) => Ok(value),
        _ => Err(invalid(lit.span())),
    }
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
            } else if lookahead.peek(kw::fields) {
                let key: kw::fields = input.parse()?;
                if args.fields.is_some() {
                    return Err(syn::Error::new(
                        key.span,
                        "`fields` is given more than once",
                    ));
                }
                let content;
                syn::parenthesized!(content in input);
                let fields = content.parse_terminated(Field::parse, Token![,])?;
                let mut seen: Vec<String> = Vec::new();
                for field in &fields {
                    let key = field.key.value();
                    if seen.contains(&key) {
                        return Err(syn::Error::new(
                            field.key.span(),
                            format!("the field `{key}` is given more than once"),
                        ));
                    }
                    seen.push(key);
                }
                args.fields = Some(fields.into_iter().collect());
            } else if lookahead.peek(kw::err) {
                let key: kw::err = input.parse()?;
                if args.err.is_some() {
                    return Err(syn::Error::new(key.span, "`err` is given more than once"));
                }
                if input.peek(syn::token::Paren) || input.peek(Token![=]) {
                    return Err(syn::Error::new(
                        key.span,
                        "`err` takes no value: the span records the error's type, never its text",
                    ));
                }
                args.err = Some(key);
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
            } else if lookahead.peek(kw::budget_usd) {
                let key: kw::budget_usd = input.parse()?;
                if args.budget_usd.is_some() {
                    return Err(syn::Error::new(
                        key.span,
                        "`budget_usd` is given more than once",
                    ));
                }
                input.parse::<Token![=]>()?;
                args.budget_usd = Some(parse_budget(input)?);
            } else if input.peek(syn::Ident) {
                let unknown: syn::Ident = input.parse()?;
                return Err(syn::Error::new(
                    unknown.span(),
                    format!(
                        "unknown `llm_trace` argument `{unknown}`; expected `name`, `fields`, `err`, `budget_usd` or `crate`"
                    ),
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
