#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::run("access-requests-update").await
}
