#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    functions::sweep::run().await
}
