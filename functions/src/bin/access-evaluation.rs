#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::run(functions::access::EVALUATION).await
}
