
use mistralai_client::v1::chat::ChatResponse;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;
use mistralai_client::v1::error::ApiError;


async fn forgot(client: &Client) -> Result<String, ApiError> {
    let answer: ChatResponse = client.chat_async(Model::OpenMistral7b, vec![], None)?;
    Ok(answer.id)
}

fn main() {}
