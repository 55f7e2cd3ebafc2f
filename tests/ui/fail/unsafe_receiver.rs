#![deny(unsafe_op_in_unsafe_fn)]
use llm_trace::llm_trace;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;

/// # Safety
/// `client` points to a live client.
#[llm_trace]
unsafe fn ask(client: *const Client) -> bool {
    (*client).chat(Model::OpenMistral7b, vec![], None).is_ok()
}

fn main() {}
