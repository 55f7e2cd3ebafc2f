use llm_trace::llm_trace;

#[llm_trace(err)]
fn nothing_returned() {}

#[llm_trace(err(Debug))]
fn with_a_value() -> Result<(), String> {
    Ok(())
}

#[llm_trace(err, err)]
fn twice() -> Result<(), String> {
    Ok(())
}

fn main() {}
