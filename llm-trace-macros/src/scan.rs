//! Rewriting candidate calls found by scanning tokens, without parsing the statements.
//!
//! Most calls are written `receiver.method(a, b, c)` with a receiver such as `client`,
//! `self.client`, `crate::CLIENT`, `state.0` or `client?`: such a call can be found and
//! taken apart on the token trees alone, which costs a fraction of parsing the statement
//! with `syn` (the macro runs unoptimised in debug builds). Whatever the scan does not
//! fully understand — `move` closures and spawners (which hand the function's span off),
//! nested items, path calls, receivers with calls, indexing or generics, arguments with
//! closures or `<` — makes it give up, and the statements are parsed as before.

use crate::private_path::Private;
use proc_macro2::{Delimiter, Group, Ident, Spacing, TokenStream, TokenTree};

use crate::calls::{self, is_candidate_name};
use crate::rewriter::SPAWNERS;

/// Words after which the scan gives up: the statements need the parser.
const NEEDS_PARSER: &[&str] = &[
    "move",
    "fn",
    "impl",
    "trait",
    "mod",
    "macro_rules",
    "struct",
    "enum",
    "union",
];

/// Keywords that cannot start a receiver (`self`, `Self`, `super`, `crate` can).
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "yield",
];

fn punct(token: Option<&TokenTree>, c: char, spacing: Spacing) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == c && p.spacing() == spacing)
}

/// `tokens` with every candidate method call rewritten into its probe, or `None` when a
/// part needs the parser. `rewritten` counts the calls rewritten.
pub(crate) fn rewrite(
    tokens: TokenStream,
    private: &Private,
    rewritten: &mut usize,
) -> Option<TokenStream> {
    let input: Vec<TokenTree> = tokens.into_iter().collect();
    rewrite_trees(&input, private, rewritten)
}

/// [`rewrite`] of token trees.
pub(crate) fn rewrite_trees(
    input: &[TokenTree],
    private: &Private,
    rewritten: &mut usize,
) -> Option<TokenStream> {
    let mut out: Vec<TokenTree> = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match &input[i] {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                if NEEDS_PARSER.contains(&name.as_str()) || SPAWNERS.contains(&name.as_str()) {
                    return None;
                }
                // A macro invocation (`name!(..)`, not `if !(..)`): its tokens are not code yet.
                if !KEYWORDS.contains(&name.as_str())
                    && punct(input.get(i + 1), '!', Spacing::Alone)
                    && matches!(input.get(i + 2), Some(TokenTree::Group(_)))
                {
                    out.extend(input[i..i + 3].iter().cloned());
                    i += 3;
                    continue;
                }
                out.push(input[i].clone());
            }
            TokenTree::Punct(p) if p.as_char() == ':' && p.spacing() == Spacing::Joint => {
                // `Type::method(..)`: a path call, for the parser.
                if matches!(input.get(i + 2), Some(TokenTree::Ident(name))
                    if calls::CANDIDATES.iter().any(|(c, _)| name == c))
                {
                    return None;
                }
                out.push(input[i].clone());
            }
            TokenTree::Punct(p) if p.as_char() == '.' && is_field_dot(&out, p) => {
                if let Some(TokenTree::Ident(method)) = input.get(i + 1) {
                    if calls::CANDIDATES.iter().any(|(c, _)| method == c) {
                        // `.chat::<T>(..)` and other forms are for the parser.
                        let Some(TokenTree::Group(parens)) = input.get(i + 2) else {
                            return None;
                        };
                        if parens.delimiter() != Delimiter::Parenthesis {
                            return None;
                        }
                        if let Some(call) =
                            candidate(&mut out, p, method, parens, private, rewritten)?
                        {
                            out.extend(call);
                            *rewritten += 1;
                            i += 3;
                            continue;
                        }
                    }
                }
                out.push(input[i].clone());
            }
            TokenTree::Group(group) => {
                let before = *rewritten;
                let inner = rewrite(group.stream(), private, rewritten)?;
                if *rewritten == before {
                    out.push(input[i].clone());
                } else {
                    let mut copy = Group::new(group.delimiter(), inner);
                    copy.set_span(group.span());
                    out.push(TokenTree::Group(copy));
                }
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    Some(out.into_iter().collect())
}

/// Whether a `.` is a field or method dot (not the second dot of `..`, given the tokens
/// before it).
fn is_field_dot(before: &[TokenTree], dot: &proc_macro2::Punct) -> bool {
    dot.spacing() == Spacing::Alone && !punct(before.last(), '.', Spacing::Joint)
}

/// The probe of `receiver . method (parens)` when it is a candidate, taking the receiver
/// off the end of `out`: `Ok(Some(tokens))`; `Ok(None)` when it is no candidate;
/// `None` (outer) when a part needs the parser.
fn candidate(
    out: &mut Vec<TokenTree>,
    dot: &proc_macro2::Punct,
    method: &Ident,
    parens: &Group,
    private: &Private,
    rewritten: &mut usize,
) -> Option<Option<Vec<TokenTree>>> {
    let args = split_arguments(parens.stream())?;
    if !is_candidate_name(method, args.len()) {
        return Some(None);
    }
    let args = args
        .into_iter()
        .map(|arg| match is_plain(&arg) {
            true => Some(arg),
            false => rewrite_trees(&arg, private, rewritten).map(|arg| arg.into_iter().collect()),
        })
        .collect::<Option<Vec<_>>>()?;
    let (start, pure) = receiver_start(out)?;
    let receiver: Vec<TokenTree> = out.drain(start..).collect();
    let root = match (receiver.first(), receiver.get(1)) {
        (Some(TokenTree::Ident(root)), next) if pure && !punct(next, ':', Spacing::Joint) => {
            Some(root.clone())
        }
        _ => None,
    };
    let plain = calls::PlainCall {
        receiver,
        pure,
        root,
        args,
        dot,
        method,
        parens,
    };
    Some(Some(plain.rewrite(private)))
}

/// Whether [`rewrite_trees`] would give `tokens` back as they are, without looking: no
/// group, and no word it acts on.
fn is_plain(tokens: &[TokenTree]) -> bool {
    tokens.iter().all(|token| match token {
        TokenTree::Group(_) => false,
        TokenTree::Ident(ident) => {
            let name = ident.to_string();
            !(NEEDS_PARSER.contains(&name.as_str())
                || SPAWNERS.contains(&name.as_str())
                || calls::CANDIDATES.iter().any(|(c, _)| name == *c))
        }
        _ => true,
    })
}

/// The arguments of a call, split at the commas between them; `None` when a `<` or a
/// closure's `|` could hide commas that do not separate arguments.
fn split_arguments(tokens: TokenStream) -> Option<Vec<Vec<TokenTree>>> {
    let mut args = Vec::new();
    let mut current = Vec::new();
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => {
                args.push(std::mem::take(&mut current));
                continue;
            }
            TokenTree::Punct(p) if p.as_char() == '<' || p.as_char() == '|' => return None,
            _ => {}
        }
        current.push(token);
    }
    if !current.is_empty() {
        args.push(current);
    }
    if args.iter().any(Vec::is_empty) {
        return None;
    }
    Some(args)
}

/// Where the receiver ending `tokens` starts, and whether it is a pure place (names
/// only: `a`, `a.b.0`, `a::B`); `None` for receivers the scan does not take apart.
fn receiver_start(tokens: &[TokenTree]) -> Option<(usize, bool)> {
    let mut pure = true;
    let mut at = tokens.len();
    loop {
        let last = at.checked_sub(1)?;
        match &tokens[last] {
            TokenTree::Punct(p) if p.as_char() == '?' => {
                pure = false;
                at = last;
            }
            TokenTree::Ident(ident) => {
                at = last;
                if at >= 1
                    && matches!(&tokens[at - 1], TokenTree::Punct(p) if p.as_char() == '.' && is_field_dot(&tokens[..at - 1], p))
                {
                    // `.field` or `.await`: the receiver goes on before the dot.
                    if ident == "await" {
                        pure = false;
                    }
                    at -= 1;
                    continue;
                }
                if at >= 2
                    && punct(tokens.get(at - 1), ':', Spacing::Alone)
                    && punct(tokens.get(at - 2), ':', Spacing::Joint)
                {
                    // A path segment: another must come before the `::`.
                    at -= 2;
                    if !matches!(tokens.get(at.wrapping_sub(1)), Some(TokenTree::Ident(_))) {
                        return None;
                    }
                    continue;
                }
                let name = ident.to_string();
                if KEYWORDS.contains(&name.as_str()) {
                    return None;
                }
                return Some((at, pure));
            }
            TokenTree::Literal(_) => {
                // A tuple field (`.0`), else no receiver the scan takes apart.
                at = last;
                if at >= 1
                    && matches!(&tokens[at - 1], TokenTree::Punct(p) if p.as_char() == '.' && is_field_dot(&tokens[..at - 1], p))
                {
                    at -= 1;
                    continue;
                }
                return None;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(code: &str) -> Vec<TokenTree> {
        code.parse::<TokenStream>().unwrap().into_iter().collect()
    }

    /// The receiver at the end of `code`, and whether it is a pure place.
    fn receiver(code: &str) -> Option<(String, bool)> {
        let tokens = tokens(code);
        let (start, pure) = receiver_start(&tokens)?;
        let receiver: TokenStream = tokens[start..].iter().cloned().collect();
        Some((receiver.to_string(), pure))
    }

    #[test]
    fn receivers_are_taken_apart_like_the_parser_does() {
        assert_eq!(receiver("let a = client"), Some(("client".into(), true)));
        assert_eq!(
            receiver("x + self.client"),
            Some(("self . client".into(), true))
        );
        assert_eq!(
            receiver("& crate::CLIENT"),
            Some(("crate :: CLIENT".into(), true))
        );
        assert_eq!(receiver("state.0"), Some(("state . 0".into(), true)));
        assert_eq!(receiver("(client)?"), None, "groups are for the parser");
        assert_eq!(receiver("make()?"), None);
        assert_eq!(receiver("lazy?"), Some(("lazy ?".into(), false)));
        assert_eq!(receiver("fut.await"), Some(("fut . await".into(), false)));
        assert_eq!(
            receiver("0..client"),
            Some(("client".into(), true)),
            "after a range"
        );
        assert_eq!(
            receiver("Vec::<u8>::x"),
            None,
            "generics are for the parser"
        );
        assert_eq!(receiver("return"), None, "a keyword is no receiver");
    }

    #[test]
    fn arguments_split_at_their_commas_unless_a_comma_could_be_something_else() {
        let count = |code: &str| split_arguments(code.parse().unwrap()).map(|args| args.len());
        assert_eq!(count("a, vec![1, 2], (b, c)"), Some(3));
        assert_eq!(count("a, b,"), Some(2));
        assert_eq!(count("a, |x, y| x, b"), None);
        assert_eq!(count("a, HashMap::<K, V>::new()"), None);
        assert_eq!(count("a,, b"), None);
    }

    #[test]
    fn what_the_scan_leaves_to_the_parser() {
        let private = Private::new(None);
        let scan = |code: &str| rewrite(code.parse().unwrap(), &private, &mut 0).is_some();
        assert!(scan("let a = client.chat(m, q, None)?;"));
        assert!(
            scan("let a = println!(\"{}\", client.chat(m, q, None));"),
            "macro bodies stay"
        );
        assert!(!scan("let f = move || client.chat(m, q, None);"));
        assert!(!scan("tokio::spawn(fut);"));
        assert!(!scan("Client::chat(&client, m, q, None);"));
        assert!(!scan("client.chat::<X>(m, q, None);"));
        assert!(!scan("fn inner() { client.chat(m, q, None); }"));
        // Not a candidate (two arguments): kept as written.
        let mut rewritten = 0;
        let kept = rewrite(
            "client.chat(m, q);".parse().unwrap(),
            &private,
            &mut rewritten,
        );
        assert_eq!(rewritten, 0);
        assert_eq!(kept.unwrap().to_string(), "client . chat (m , q) ;");
    }

    #[test]
    fn the_scan_rewrites_a_call_as_the_parser_does() {
        let private = Private::new(None);
        for call in [
            "client.chat(model, messages, None)",
            "self.client.chat(Model::MistralSmallLatest, vec![message], params)",
            "state.clients.0.embeddings(model, input, None)",
            "client?.chat(m, q, None)",
            "client.chat(client.model(), q, None)",
            "client.chat_async(m, q, p).await",
        ] {
            let Some(scanned) = rewrite(call.parse().unwrap(), &private, &mut 0) else {
                panic!("{call}: left to the parser");
            };
            let expr: syn::Expr = syn::parse_str(call).unwrap();
            let method = match expr {
                syn::Expr::MethodCall(method) => method,
                syn::Expr::Await(awaited) => match *awaited.base {
                    syn::Expr::MethodCall(method) => method,
                    _ => unreachable!(),
                },
                _ => unreachable!(),
            };
            let parsed = calls::rewrite_method(&method, &private, calls::Mode::Auto);
            // Compared without spaces: a `?` the scan keeps is joint to the `.` after it.
            let text = |tokens: TokenStream| tokens.to_string().replace(' ', "");
            let parsed = text(quote::ToTokens::to_token_stream(&parsed));
            let scanned = text(scanned);
            assert!(
                scanned.starts_with(&parsed),
                "{call}:\nscan:   {scanned}\nparser: {parsed}"
            );
            assert!(scanned.contains("probe_call"), "{call}: {scanned}");
        }
    }
}
