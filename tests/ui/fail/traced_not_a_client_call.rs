struct MyBot;

impl MyBot {
    fn chat(&self, a: u8, b: u8, c: u8) -> u8 {
        a + b + c
    }
}

fn main() {
    let bot = MyBot;
    let _ = llm_trace::traced!(bot.chat(1, 2, 3));
}
