#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::run(functions::history::TECHNOLOGY_VERIFY).await
}
