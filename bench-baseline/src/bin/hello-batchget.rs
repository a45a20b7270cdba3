#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    bench_baseline::run::<bench_baseline::BatchGet>().await
}
