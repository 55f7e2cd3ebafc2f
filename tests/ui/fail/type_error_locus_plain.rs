
use mistralai_client::v1::chat::ChatResponse;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::error::ApiError;


fn wrong_model(client: &Client) -> bool {
    // The error must point at this argument, not at the attribute.
    client.chat("mistral-small-latest".to_string(), vec![], None).is_ok()
}


async fn wrong_elsewhere() -> u8 {
    let text: u8 = "not a number";
    text
}


async fn wrong_return(client: &Client, early: bool) -> Result<ChatResponse, ApiError> {
    let count = 3_u32;
    if early {
        return Ok(count);
    }
    let answer = client.chat_async(mistralai_client::v1::constants::Model::OpenMistral7b, vec![], None).await?;
    Ok(answer.choices.len())
}

fn main() {}
