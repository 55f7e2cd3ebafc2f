#[llm_trace::llm_trace(fields(gen_ai.conversation.id = sesion))]
fn chat_turn(session: &str, user: &str) -> usize {
    session.len() + user.len()
}

fn main() {
    chat_turn("s", "u");
}
