#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::run(functions::entitlements::metadata::REMOVE).await
}
