//! The annotated item: a function whose body is parsed, or — when `syn` cannot parse the
//! body — kept as raw tokens, so the function is still instrumented and rustc reports the
//! body's own errors once (tracing-attributes' speculative fallback).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{AttrStyle, Attribute, Block, ItemFn, Signature, Visibility};

/// A function body.
pub(crate) enum Body {
    /// Parsed statements, in their braces.
    Parsed(Block),
    /// The tokens between the braces, as written.
    Raw(proc_macro2::Group),
}

/// An annotated function.
pub(crate) struct Function {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Body,
}

impl From<ItemFn> for Function {
    fn from(item: ItemFn) -> Self {
        let (inner_attrs, outer_attrs) = item
            .attrs
            .into_iter()
            .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
        Function {
            outer_attrs,
            inner_attrs,
            vis: item.vis,
            sig: item.sig,
            body: Body::Parsed(*item.block),
        }
    }
}

impl Parse for Function {
    /// Attributes, visibility, signature, and a brace group taken as raw tokens.
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let outer_attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        let group: proc_macro2::Group = input.parse()?;
        if group.delimiter() != proc_macro2::Delimiter::Brace {
            return Err(syn::Error::new(group.span(), "expected a function body"));
        }
        Ok(Function {
            outer_attrs,
            inner_attrs: Vec::new(),
            vis,
            sig,
            body: Body::Raw(group),
        })
    }
}

impl Body {
    /// The statements, without their braces.
    pub(crate) fn statements(&self) -> TokenStream {
        match self {
            Body::Parsed(block) => {
                let mut tokens = TokenStream::new();
                for stmt in &block.stmts {
                    stmt.to_tokens(&mut tokens);
                }
                tokens
            }
            Body::Raw(group) => group.stream(),
        }
    }

    /// The parsed statements, to rewrite.
    pub(crate) fn parsed_mut(&mut self) -> Option<&mut Block> {
        match self {
            Body::Parsed(block) => Some(block),
            Body::Raw(_) => None,
        }
    }

    /// The span of the body's braces.
    pub(crate) fn span(&self) -> proc_macro2::Span {
        match self {
            Body::Parsed(block) => block.brace_token.span.join(),
            Body::Raw(group) => group.span(),
        }
    }
}
