//! The annotated item, kept as the tokens the user wrote: its head (attributes, visibility,
//! signature) is read for what the expansion needs, and its body is split into statement
//! runs, of which only those that may hold a client call or hand work off are parsed, to
//! be rewritten.
//!
//! Parsing a whole body with `syn` is most of what the attribute costs at compile time
//! (the macro runs unoptimised in debug builds), and most statements hold no client call.
//! A run that `syn` cannot parse is kept as written, so rustc reports its own error, once
//! (tracing-attributes' speculative fallback, statement by statement).

use proc_macro2::{Delimiter, Group, Ident, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Block, FnArg, Stmt, Token};

use crate::calls::CANDIDATES;
use crate::rewriter::SPAWNERS;

/// A run of statements, up to and including a `;` at the top level of the body (or the
/// body's tail).
pub(crate) enum Chunk {
    /// Tokens to emit as written: it names no client method and no spawner, or `syn`
    /// cannot parse it.
    Raw(Vec<TokenTree>),
    /// As written, naming a client method or a spawner: to rewrite.
    Pending(Vec<TokenTree>),
    /// Rewritten by the token scan.
    Rewritten(TokenStream),
    /// Parsed, to be rewritten.
    Parsed(Vec<Stmt>),
}

/// A function body.
pub(crate) struct Body {
    /// The inner attributes (`#![...]`) the body starts with, as written.
    pub(crate) inner_attrs: TokenStream,
    /// The statements, in runs.
    pub(crate) chunks: Vec<Chunk>,
    /// The span of the body's braces.
    span: Span,
}

/// An annotated function.
pub(crate) struct Function {
    /// Everything before the body, as written: attributes, visibility, signature.
    pub(crate) head: TokenStream,
    pub(crate) sig: Signature,
    pub(crate) body: Body,
}

/// What the expansion needs of a function's signature, read off its tokens (the whole
/// signature is parsed only where a part needs it).
pub(crate) struct Signature {
    /// The `const` keyword, if any.
    pub(crate) constness: Option<Span>,
    /// Whether it is an `async fn`.
    pub(crate) asyncness: bool,
    pub(crate) ident: Ident,
    /// The arguments, in their parentheses.
    inputs: Group,
    /// The return type's tokens, when it has one.
    pub(crate) output: Option<TokenStream>,
}

fn is_punct(token: Option<&TokenTree>, c: char) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn is_ident(token: Option<&TokenTree>, name: &str) -> bool {
    matches!(token, Some(TokenTree::Ident(i)) if i == name)
}

impl Function {
    /// The function in `item`, or `None` when `item` is not a function with a body.
    pub(crate) fn parse(item: TokenStream) -> Option<Function> {
        let mut tokens: Vec<TokenTree> = item.into_iter().collect();
        let body = match tokens.pop()? {
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => group,
            _ => return None,
        };
        // Attributes and `pub(..)` are groups: the first `fn` at this level is the keyword.
        let fn_at = tokens
            .iter()
            .position(|token| is_ident(Some(token), "fn"))?;
        let mut constness = None;
        let mut asyncness = false;
        for token in tokens[..fn_at].iter().rev() {
            match token {
                TokenTree::Ident(ident) if ident == "const" => constness = Some(ident.span()),
                TokenTree::Ident(ident) if ident == "async" => asyncness = true,
                TokenTree::Ident(ident)
                    if ident == "unsafe"
                        || ident == "extern"
                        || ident == "default"
                        || ident == "safe" => {}
                TokenTree::Literal(_) => {} // the ABI of `extern "C"`
                _ => break,
            }
        }
        let ident = match tokens.get(fn_at + 1)? {
            TokenTree::Ident(ident) => ident.clone(),
            _ => return None,
        };
        let mut at = fn_at + 2;
        if is_punct(tokens.get(at), '<') {
            // Generics, up to the matching `>` (the `>` of a `->` does not count).
            let mut depth = 0usize;
            loop {
                let token = tokens.get(at)?;
                let arrow = matches!(tokens.get(at.wrapping_sub(1)), Some(TokenTree::Punct(p))
                    if p.as_char() == '-' && p.spacing() == Spacing::Joint);
                match token {
                    TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
                    TokenTree::Punct(p) if p.as_char() == '>' && !arrow => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            at += 1;
        }
        let inputs = match tokens.get(at)? {
            TokenTree::Group(group) if group.delimiter() == Delimiter::Parenthesis => group.clone(),
            _ => return None,
        };
        at += 1;
        let output =
            (is_punct(tokens.get(at), '-') && is_punct(tokens.get(at + 1), '>')).then(|| {
                tokens[at + 2..]
                    .iter()
                    .take_while(|token| !is_ident(Some(token), "where"))
                    .cloned()
                    .collect::<TokenStream>()
            });
        Some(Function {
            head: tokens.into_iter().collect(),
            sig: Signature {
                constness,
                asyncness,
                ident,
                inputs,
                output,
            },
            body: Body::split(&body),
        })
    }
}

impl Function {
    /// The function `syn` parsed (for a head the token-level reading does not take apart).
    pub(crate) fn from_item(item: syn::ItemFn) -> Function {
        let syn::ItemFn {
            attrs,
            vis,
            sig,
            block,
        } = item;
        let inputs = Group::new(Delimiter::Parenthesis, sig.inputs.to_token_stream());
        let output = match &sig.output {
            syn::ReturnType::Type(_, ty) => Some(ty.to_token_stream()),
            syn::ReturnType::Default => None,
        };
        let (inner, outer): (Vec<_>, Vec<_>) = attrs
            .into_iter()
            .partition(|attr| matches!(attr.style, syn::AttrStyle::Inner(_)));
        let mut statements: TokenStream = inner.iter().map(ToTokens::to_token_stream).collect();
        statements.extend(block.stmts.iter().map(ToTokens::to_token_stream));
        let mut body = Group::new(Delimiter::Brace, statements);
        body.set_span(block.brace_token.span.join());
        let mut head = TokenStream::new();
        for attr in &outer {
            attr.to_tokens(&mut head);
        }
        vis.to_tokens(&mut head);
        sig.to_tokens(&mut head);
        Function {
            head,
            sig: Signature {
                constness: sig.constness.map(|token| token.span),
                asyncness: sig.asyncness.is_some(),
                ident: sig.ident,
                inputs,
                output,
            },
            body: Body::split(&body),
        }
    }
}

impl Signature {
    /// The return type, parsed (`None` without one, or if it does not parse).
    pub(crate) fn output_type(&self) -> Option<syn::Type> {
        syn::parse2(self.output.clone()?).ok()
    }

    /// The span of the return type's first token.
    pub(crate) fn output_span(&self) -> Option<Span> {
        self.output
            .as_ref()?
            .clone()
            .into_iter()
            .next()
            .map(|token| token.span())
    }

    /// The arguments, parsed (none if they do not parse).
    pub(crate) fn inputs(&self) -> Vec<FnArg> {
        Punctuated::<FnArg, Token![,]>::parse_terminated
            .parse2(self.inputs.stream())
            .map(|inputs| inputs.into_iter().collect())
            .unwrap_or_default()
    }

    /// Whether the return type names `name` anywhere.
    pub(crate) fn output_names(&self, names: &[&str]) -> bool {
        self.output
            .as_ref()
            .is_some_and(|output| names_any(output, names))
    }
}

/// Whether `tokens` name, anywhere (inside groups too), one of `names`.
pub(crate) fn names_any(tokens: &TokenStream, names: &[&str]) -> bool {
    tokens.clone().into_iter().any(|token| match token {
        TokenTree::Ident(ident) => {
            let name = ident.to_string();
            names.contains(&name.as_str())
        }
        TokenTree::Group(group) => names_any(&group.stream(), names),
        _ => false,
    })
}

/// Whether `tokens` name, anywhere (inside groups too), a client method or a spawner.
fn may_need_rewriting(tokens: &[TokenTree]) -> bool {
    tokens.iter().any(|token| match token {
        TokenTree::Ident(ident) => {
            let name = ident.to_string();
            CANDIDATES.iter().any(|(candidate, _)| name == *candidate)
                || SPAWNERS.contains(&name.as_str())
        }
        TokenTree::Group(group) => {
            let inner: Vec<TokenTree> = group.stream().into_iter().collect();
            may_need_rewriting(&inner)
        }
        _ => false,
    })
}

/// Whether the next tokens are an inner attribute: `#`, `!`, `[...]`.
fn starts_inner_attribute(tokens: &[TokenTree]) -> bool {
    matches!(tokens, [TokenTree::Punct(hash), TokenTree::Punct(bang), TokenTree::Group(group), ..]
        if hash.as_char() == '#' && bang.as_char() == '!' && group.delimiter() == Delimiter::Bracket)
}

impl Body {
    /// Splits a body's tokens into its inner attributes and statement runs.
    fn split(group: &Group) -> Body {
        let mut tokens: Vec<TokenTree> = group.stream().into_iter().collect();
        let mut attrs_end = 0;
        while starts_inner_attribute(&tokens[attrs_end..]) {
            attrs_end += 3;
        }
        let inner_attrs: TokenStream = tokens.drain(..attrs_end).collect();
        let mut chunks = Vec::new();
        let mut current = Vec::new();
        for token in tokens {
            let ends_statement = matches!(&token, TokenTree::Punct(p) if p.as_char() == ';');
            current.push(token);
            if ends_statement {
                chunks.push(Chunk::new(std::mem::take(&mut current)));
            }
        }
        if !current.is_empty() {
            chunks.push(Chunk::new(current));
        }
        Body {
            inner_attrs,
            chunks,
            span: group.span(),
        }
    }

    /// The statements, without their braces (and without the inner attributes), taken
    /// out of the body.
    pub(crate) fn take_statements(&mut self) -> TokenStream {
        let mut tokens = TokenStream::new();
        for chunk in std::mem::take(&mut self.chunks) {
            match chunk {
                Chunk::Raw(raw) | Chunk::Pending(raw) => tokens.extend(raw),
                Chunk::Rewritten(rewritten) => tokens.extend(rewritten),
                Chunk::Parsed(stmts) => {
                    for stmt in stmts {
                        stmt.to_tokens(&mut tokens);
                    }
                }
            }
        }
        tokens
    }

    /// The span of the body's braces.
    pub(crate) fn span(&self) -> Span {
        self.span
    }
}

impl Chunk {
    /// A run, pending when it may hold something to rewrite.
    fn new(tokens: Vec<TokenTree>) -> Chunk {
        if may_need_rewriting(&tokens) {
            Chunk::Pending(tokens)
        } else {
            Chunk::Raw(tokens)
        }
    }

    /// A pending run parsed, or kept as written when `syn` cannot parse it (rustc then
    /// reports the error).
    pub(crate) fn parse(tokens: Vec<TokenTree>) -> Chunk {
        match Block::parse_within.parse2(tokens.iter().cloned().collect()) {
            Ok(stmts) => Chunk::Parsed(stmts),
            Err(_) => Chunk::Raw(tokens),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(code: &str) -> Function {
        Function::parse(code.parse().unwrap()).unwrap_or_else(|| panic!("not read: {code}"))
    }

    #[test]
    fn heads_are_read_as_syn_reads_them() {
        for code in [
            "fn a() {}",
            "pub(crate) async fn b(x: u8) -> Result<u8, E> where E: Clone { Ok(x) }",
            "#[doc = \"x\"] pub unsafe extern \"C\" fn c<F: Fn() -> u8, const N: usize>(f: F) -> [u8; N] { todo!() }",
            "const fn d() -> impl Future<Output = ()> {}",
            "async unsafe fn e<'a, T>(self: &'a Self, t: Vec<Vec<T>>) -> Pin<Box<dyn Future<Output = T> + 'a>> {}",
        ] {
            let item: syn::ItemFn = syn::parse_str(code).unwrap();
            let function = parse(code);
            assert_eq!(function.sig.ident, item.sig.ident, "{code}");
            assert_eq!(function.sig.asyncness, item.sig.asyncness.is_some(), "{code}");
            assert_eq!(function.sig.constness.is_some(), item.sig.constness.is_some(), "{code}");
            let text = |tokens: &TokenStream| tokens.to_string().replace(' ', "");
            let output = match &item.sig.output {
                syn::ReturnType::Type(_, ty) => Some(text(&ty.to_token_stream())),
                syn::ReturnType::Default => None,
            };
            assert_eq!(function.sig.output.as_ref().map(text), output, "{code}");
            assert_eq!(function.sig.inputs().len(), item.sig.inputs.len(), "{code}");
        }
    }

    #[test]
    fn only_runs_naming_a_client_method_or_a_spawner_are_pending() {
        let function = parse(
            "fn f() { #![allow(unused)] let a = 1; let b = c.chat(x, y, z)?; \
             if a { b } else { [0; 2] }; tokio::spawn(async move {}); a }",
        );
        assert_eq!(
            function.body.inner_attrs.to_string().replace(' ', ""),
            "#![allow(unused)]"
        );
        let kinds: Vec<&str> = function
            .body
            .chunks
            .iter()
            .map(|chunk| match chunk {
                Chunk::Raw(_) => "raw",
                Chunk::Pending(_) => "pending",
                Chunk::Rewritten(_) => "rewritten",
                Chunk::Parsed(_) => "parsed",
            })
            .collect();
        assert_eq!(kinds, ["raw", "pending", "raw", "pending", "raw"]);
    }

    #[test]
    fn items_that_are_not_functions_with_a_body_are_not_read() {
        for code in ["struct S;", "fn f();", "impl S { fn f() {} }", "fn"] {
            assert!(Function::parse(code.parse().unwrap()).is_none(), "{code}");
        }
    }
}
