#![deny(unused_variables, unused_must_use)]


fn unused(input: u8) -> u8 {
    let forgotten = 3;
    1
}

#[must_use]

fn must_be_used() -> u8 {
    2
}

fn main() {
    unused(0);
    must_be_used();
}
