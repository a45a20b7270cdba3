//! Each request's one log line, through the real edge and the production subscriber: the
//! "response" line is a CloudWatch Embedded Metric Format document of its function.

use super::common::{id_of, Api, TECH};
use serde_json::{json, Value};
use shared::logging::Captured;

/// The lines written since the last call; each must be a JSON object.
fn take(lines: &Captured) -> Vec<Value> {
    let taken = lines.take();
    assert!(taken.iter().all(Value::is_object), "JSON lines: {taken:?}");
    taken
}

/// The lines that are EMF documents, each checked as CloudWatch reads one: every metric the
/// directive names is a top-level number, the dimension a top-level string.
fn emf_lines(lines: &[Value]) -> Vec<&Value> {
    let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    for line in &emf {
        let d = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], shared::metrics::namespace());
        assert_eq!(d["Dimensions"], json!([["function"]]));
        assert!(line["function"].is_string(), "{line}");
        for m in d["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "{name} in {line}");
        }
    }
    emf
}

#[tokio::test]
async fn a_request_logs_one_line_carrying_its_metrics() {
    let api = Api::new().await;
    let asset = api.asset(json!({"name": "crm"})).await;
    let url = format!("{TECH}/{}", id_of(&asset));

    let lines = Captured::default();
    let subscriber =
        shared::logging::subscriber(shared::logging::filter(Some("info")), lines.clone());
    let _default = tracing::subscriber::set_default(subscriber);

    api.counter.reset();
    let r = api.get(&url).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let logged = take(&lines);
    let emf = emf_lines(&logged);
    assert_eq!(emf.len(), 1, "one metrics line per request: {logged:?}");
    let line = emf[0];
    assert_eq!(line["function"], "technology-get");
    assert_eq!(
        line["fields"],
        json!({"message": "response", "status": 200})
    );
    assert_eq!(
        line["span"]["request_id"],
        r.header("x-request-id").unwrap()
    );
    assert_eq!(line["span"]["tenant"], api.tenant.as_str());
    assert_eq!(line["span"]["path"], url.as_str());
    assert_eq!(
        (&line["Status2xx"], &line["Status4xx"], &line["Status5xx"]),
        (&json!(1), &json!(0), &json!(0))
    );
    assert_eq!(line["DynamoDBRequests"], json!(api.counter.total()));
    assert!(line["Latency"].as_f64().unwrap() > 0.0);
    assert!(
        line["ConsumedCapacity"].as_f64().unwrap() > 0.0,
        "DynamoDB reports capacity: every call asks for it: {line}"
    );
    assert!(
        !line.to_string().contains(&api.token()),
        "no secrets in the log"
    );

    // An unauthenticated request: a 401 of the same function, no tenant, no DynamoDB call.
    let r = api.call("GET", &url, "", None).await;
    assert_eq!(r.status, 401);
    let logged = take(&lines);
    let emf = emf_lines(&logged);
    assert_eq!(emf.len(), 1, "{logged:?}");
    assert_eq!(emf[0]["Status4xx"], json!(1));
    assert_eq!(emf[0]["DynamoDBRequests"], json!(0));
    assert!(emf[0]["span"].get("tenant").is_none());
    assert!(emf[0].get("ConsumedCapacity").is_none());
}
