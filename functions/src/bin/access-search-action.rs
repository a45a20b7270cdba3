#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::run(functions::access::SEARCH_ACTION).await
}
