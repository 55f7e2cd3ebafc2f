//! Code that compiles without `#[llm_trace]` compiles with it, warning-free: return-site
//! coercions in `async fn`, user types with client-like methods (closures with
//! higher-ranked signatures, `&mut` arguments reused, the receiver used in arguments),
//! one-expression bodies, and every function shape of the corpus.
#![deny(warnings)]

use std::error::Error;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use futures_util::future::{BoxFuture, LocalBoxFuture};
use futures_util::stream::{self, Stream};
use llm_trace::llm_trace;
use mistralai_client::v1::chat::{ChatMessage, ChatParams, ChatResponse};
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

fn ask(question: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(question)]
}

/// A client whose calls fail at once (nothing listens on port 1): `main` runs offline.
fn offline() -> Client {
    Client::new(Some("k".into()), Some("http://127.0.0.1:1/v1".into()), Some(0), None).unwrap()
}

// --- async fn return-site coercions -----------------------------------------------------

#[llm_trace]
async fn boxed_stream(client: &Client) -> Result<Pin<Box<dyn Stream<Item = u32> + Send>>, ApiError> {
    let answer = client.chat_async(Model::MistralSmallLatest, ask("n"), None).await?;
    let count = answer.choices.len() as u32;
    Ok(Box::pin(stream::iter(0..count)))
}

#[derive(Debug)]
struct MyErr;
impl Display for MyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("my error")
    }
}
impl Error for MyErr {}

#[llm_trace]
async fn early_boxed_error(client: &Client, fail: bool) -> Result<String, Box<dyn Error>> {
    if fail {
        return Err(Box::new(MyErr));
    }
    let answer = client.chat_async(Model::MistralSmallLatest, ask("hi"), None).await?;
    Ok(answer.id)
}

#[llm_trace]
async fn boxed_closure(client: &Client) -> Result<Box<dyn Fn(u32) -> u32 + Send>, ApiError> {
    let answer = client.chat_async(Model::MistralSmallLatest, ask("k"), None).await?;
    let k = answer.choices.len() as u32;
    Ok(Box::new(move |x| x * k))
}

#[llm_trace]
async fn display_in_two_branches(flag: bool) -> Box<dyn Display> {
    if flag {
        Box::new(1)
    } else {
        Box::new("one")
    }
}

#[llm_trace]
async fn borrowed_slice<'a>(docs: &'a Vec<String>, client: &Client) -> Result<&'a [String], ApiError> {
    client.embeddings_async(EmbedModel::MistralEmbed, docs.clone(), None).await?;
    Ok(docs)
}

#[llm_trace]
async fn impl_trait_output(client: &Client) -> impl Display {
    client
        .chat_async(Model::MistralSmallLatest, ask("x"), None)
        .await
        .map(|answer| answer.id)
        .unwrap_or_default()
}

// --- user types with client-like methods --------------------------------------------------

struct Bot {
    replies: u32,
}

impl Bot {
    fn chat(&mut self, history: &mut Vec<String>, on_token: impl Fn(&str), _: Option<u8>) -> usize {
        self.replies += 1;
        on_token("token");
        history.push("reply".into());
        history.len()
    }

    fn embeddings(&self, text: &str, scale: f32, _: ()) -> Vec<f32> {
        vec![scale; text.len()]
    }

    fn chat_stream(self, _: u8, _: u8, _: u8) -> u32 {
        self.replies
    }

    fn replies(&self) -> u32 {
        self.replies
    }
}

#[llm_trace]
fn user_types(bot: &mut Bot, history: &mut Vec<String>) -> usize {
    // A closure whose parameter type comes from the method's `impl Fn(&str)`.
    bot.chat(history, |t| print!("{t}"), None);
    // `history` is reborrowed, not moved: it can be used again.
    bot.chat(history, |t| print!("{t}"), Some(1));
    // The receiver used in the arguments.
    let scale = bot.replies() as f32;
    let vector = bot.embeddings("abc", scale, ());
    vector.len() + history.len()
}

#[llm_trace]
fn by_value_receiver(bot: Bot) -> u32 {
    bot.chat_stream(1, 2, 3)
}

// --- one-expression bodies ------------------------------------------------------------------

#[llm_trace]
fn retries(client: &Client) -> u32 {
    client.max_retries
}

#[llm_trace]
async fn endpoint(client: &Client) -> String {
    client.endpoint.clone()
}

// --- receivers and methods ----------------------------------------------------------------

struct Service {
    client: Arc<Client>,
    boxed: Box<Client>,
    shared: Rc<Client>,
    calls: u32,
}

impl Service {
    #[llm_trace]
    fn by_ref(&self) -> Result<ChatResponse, ApiError> {
        self.client.chat(Model::MistralSmallLatest, ask("a"), None)
    }

    #[llm_trace]
    fn by_mut(&mut self) -> Result<ChatResponse, ApiError> {
        self.calls += 1;
        self.boxed.chat(Model::MistralSmallLatest, ask("b"), None)
    }

    #[llm_trace]
    fn by_value(self) -> Result<ChatResponse, ApiError> {
        self.shared.chat(Model::MistralSmallLatest, ask("c"), None)
    }

    #[llm_trace]
    async fn by_ref_async(&self) -> Result<ChatResponse, ApiError> {
        let client = &self.client;
        client.chat_async(Model::MistralSmallLatest, ask("d"), None).await
    }

    #[llm_trace]
    fn path_call(&self) -> Result<ChatResponse, ApiError> {
        Client::chat(&self.client, Model::MistralSmallLatest, ask("e"), None)
    }
}

// --- closures, iterators, `?`, let-else, labels -------------------------------------------

#[llm_trace]
fn closures_and_iterators(client: &Client, questions: &[&str]) -> Result<usize, ApiError> {
    let answers: Result<Vec<ChatResponse>, ApiError> = questions
        .iter()
        .map(|q| client.chat(Model::MistralSmallLatest, ask(q), None))
        .collect();
    let answers = answers?;
    let Some(first) = answers.first() else {
        return Ok(0);
    };
    let total = 'count: {
        if first.choices.is_empty() {
            break 'count 0;
        }
        first.choices.len()
    };
    Ok(total + answers.len())
}

fn params() -> Result<Option<ChatParams>, ApiError> {
    Ok(None)
}

#[llm_trace]
fn question_mark_in_arguments(client: &Client) -> Result<String, ApiError> {
    let answer = client.chat(Model::MistralSmallLatest, ask("q"), params()?)?;
    Ok(answer.id)
}

// --- generics, impl Trait, lifetimes, where ----------------------------------------------

#[llm_trace]
fn generic<'a, C, Q>(client: &'a C, question: Q) -> Option<String>
where
    C: AsRef<Client> + ?Sized,
    Q: AsRef<str> + 'a,
{
    let answer = client
        .as_ref()
        .chat(Model::MistralSmallLatest, ask(question.as_ref()), None)
        .ok()?;
    Some(answer.id)
}

#[llm_trace]
fn impl_trait_argument(client: &Client, questions: impl IntoIterator<Item = String>) -> usize {
    client
        .embeddings(EmbedModel::MistralEmbed, questions.into_iter().collect(), None)
        .map_or(0, |r| r.data.len())
}

// --- traits and async_trait -----------------------------------------------------------------

trait Asker {
    fn ask(&self, client: &Client) -> Result<String, ApiError>;
    fn ask_boxed<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, usize>;
    fn ask_local<'a>(&'a self, client: &'a Client) -> LocalBoxFuture<'a, usize>;
}

struct Painter;

impl Asker for Painter {
    #[llm_trace]
    fn ask(&self, client: &Client) -> Result<String, ApiError> {
        Ok(client.chat(Model::MistralSmallLatest, ask("who?"), None)?.id)
    }

    #[llm_trace]
    fn ask_boxed<'a>(&'a self, client: &'a Client) -> BoxFuture<'a, usize> {
        Box::pin(async move {
            let answer = client.embeddings_async(EmbedModel::MistralEmbed, vec![], None).await;
            answer.map_or(0, |r| r.data.len())
        })
    }

    #[llm_trace]
    fn ask_local<'a>(&'a self, client: &'a Client) -> LocalBoxFuture<'a, usize> {
        Box::pin(async move {
            let answer = client.chat_async(Model::MistralSmallLatest, ask("l"), None).await;
            answer.map_or(0, |r| r.choices.len())
        })
    }
}

#[async_trait::async_trait(?Send)]
trait AsyncAsker {
    async fn ask(&self, client: &Client) -> Result<String, ApiError>;
}

#[async_trait::async_trait(?Send)]
impl AsyncAsker for Painter {
    #[llm_trace]
    async fn ask(&self, client: &Client) -> Result<String, ApiError> {
        Ok(client.chat_async(Model::MistralSmallLatest, ask("who?"), None).await?.id)
    }
}

trait NativeAsync {
    fn ask(&self, client: &Client) -> impl Future<Output = usize> + Send;
}

impl NativeAsync for Painter {
    #[llm_trace]
    async fn ask(&self, client: &Client) -> usize {
        client
            .embeddings_async(EmbedModel::MistralEmbed, vec![], None)
            .await
            .map_or(0, |r| r.data.len())
    }
}

// --- unsafe, extern, macros ------------------------------------------------------------------

/// # Safety
/// `client` points to a live client.
#[llm_trace]
unsafe fn unsafe_fn(client: *const Client) -> bool {
    // SAFETY: the caller promises a live client.
    let client = unsafe { &*client };
    client.chat(Model::MistralSmallLatest, ask("u"), None).is_ok()
}

#[llm_trace]
extern "C" fn extern_c() -> u32 {
    7
}

macro_rules! traced_fn {
    ($name:ident, $model:expr) => {
        #[llm_trace]
        fn $name(client: &Client) -> bool {
            client.chat($model, ask("m"), None).is_ok()
        }
    };
}

traced_fn!(from_macro, Model::OpenMistral7b);

// --- #[tokio::test] in both orders -----------------------------------------------------------

#[llm_trace]
#[tokio::test]
async fn attribute_before_tokio_test() {
    let _ = endpoint(&offline()).await;
}

#[tokio::test]
#[llm_trace]
async fn attribute_after_tokio_test() {
    let _ = endpoint(&offline()).await;
}

fn main() {
    let client = offline();
    let mut bot = Bot { replies: 0 };
    let mut history = Vec::new();
    let _ = user_types(&mut bot, &mut history);
    let _ = by_value_receiver(bot);
    let _ = retries(&client);
    let service = Service {
        client: Arc::new(offline()),
        boxed: Box::new(offline()),
        shared: Rc::new(offline()),
        calls: 0,
    };
    let _ = (
        boxed_stream(&client),
        early_boxed_error(&client, true),
        boxed_closure(&client),
        display_in_two_branches(true),
        impl_trait_output(&client),
        endpoint(&client),
        service.by_ref_async(),
    );
    let docs = vec![String::from("d")];
    let _ = borrowed_slice(&docs, &client);
    let _ = (service.by_ref(), service.path_call());
    let _ = closures_and_iterators(&client, &["a"]);
    let _ = question_mark_in_arguments(&client);
    let _ = generic(&Arc::new(offline()), "q");
    let _ = impl_trait_argument(&client, vec![String::from("x")]);
    let _ = (Asker::ask(&Painter, &client), Painter.ask_boxed(&client), Painter.ask_local(&client));
    let _ = AsyncAsker::ask(&Painter, &client);
    let _ = NativeAsync::ask(&Painter, &client);
    // SAFETY: `client` is alive.
    let _ = unsafe { unsafe_fn(&client) };
    let _ = extern_c();
    let _ = from_macro(&client);
    let mut service = service;
    let _ = service.by_mut();
    let _ = service.by_value();
}
