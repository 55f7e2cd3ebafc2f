struct Session;

#[llm_trace::llm_trace(fields(gen_ai.conversation.id = session))]
fn chat_turn(session: Session) -> u8 {
    let _ = session;
    1
}

fn main() {
    chat_turn(Session);
}
