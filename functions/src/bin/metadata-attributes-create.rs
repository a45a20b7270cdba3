#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::run(functions::metadata_attributes::create::ROUTE).await
}
