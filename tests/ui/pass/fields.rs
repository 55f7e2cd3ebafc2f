//! `fields(...)` with dotted and quoted keys, on sync and async functions and methods.
#![deny(warnings)]

use llm_trace::llm_trace;

#[llm_trace(fields(gen_ai.conversation.id = session, user.id = user, "app.retry" = retry))]
fn turn(session: &str, user: Option<String>, retry: u32) -> usize {
    session.len() + user.map_or(0, |u| u.len()) + retry as usize
}

struct Bot {
    name: String,
}

impl Bot {
    #[llm_trace(name = "bot turn", fields(gen_ai.conversation.id = conversation))]
    async fn turn(&self, conversation: String) -> usize {
        self.name.len() + conversation.len()
    }
}

fn main() {
    assert_eq!(turn("abc", Some("u".into()), 1), 5);
    let bot = Bot { name: "b".into() };
    drop(bot.turn("c".into()));
}
