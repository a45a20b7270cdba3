#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::run(functions::history::ACCESS_REQUESTS_VERIFY).await
}
