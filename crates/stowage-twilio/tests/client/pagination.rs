use stowage_provider::ErrorKind;
use stowage_twilio::client::Failure;
use stowage_twilio::{Operation, RetryPolicy};

use crate::fake::{FakeTwilio, Reply, aws_credential_json, bounded, sid};

fn page(sids: std::ops::Range<usize>, next_page_url: Option<&str>) -> Reply {
    let credentials: Vec<_> = sids.map(|n| aws_credential_json(&sid(n), &format!("credential {n}"))).collect();
    Reply::json(
        200,
        serde_json::json!({
            "credentials": credentials,
            "meta": {
                "first_page_url": "https://accounts.twilio.com/v1/Credentials/AWS?PageSize=3&Page=0",
                "key": "credentials",
                "next_page_url": next_page_url,
                "page": 0,
                "page_size": 3,
                "previous_page_url": null,
                "url": "https://accounts.twilio.com/v1/Credentials/AWS?PageSize=3&Page=0",
            },
        }),
    )
}

#[tokio::test]
async fn lists_follow_next_page_url_until_null() {
    let fake = FakeTwilio::start([]).await;
    let second = format!("{}/v1/Credentials/AWS?PageSize=3&Page=1&PageToken=PA{}", fake.url, sid(3));
    let third = format!("{}/v1/Credentials/AWS?PageSize=3&Page=2&PageToken=PA{}", fake.url, sid(6));
    fake.push(page(0..3, Some(&second)));
    fake.push(page(3..6, Some(&third)));
    fake.push(page(6..7, None));
    let client = fake.client(RetryPolicy::never());

    let credentials = bounded(client.list_aws_credentials()).await.expect("all pages");

    let sids: Vec<_> = credentials.into_iter().filter_map(|credential| credential.sid).collect();
    assert_eq!(sids, (0..7).map(sid).collect::<Vec<_>>(), "every item, in page order");
    let paths: Vec<_> = fake.requests().into_iter().map(|request| request.path_and_query).collect();
    assert_eq!(
        paths,
        [
            "/v1/Credentials/AWS?PageSize=1000".to_owned(),
            second.trim_start_matches(&fake.url).to_owned(),
            third.trim_start_matches(&fake.url).to_owned(),
        ]
    );
    assert_eq!(client.calls().get(Operation::ListAwsCredentials), 3);
    assert_eq!(client.calls().writes(), 0);
}

#[tokio::test]
async fn public_keys_list_the_same_way() {
    let fake = FakeTwilio::start([]).await;
    fake.push(page(0..2, Some("/v1/Credentials/PublicKeys?Page=1")));
    fake.push(page(2..3, None));
    let client = fake.client(RetryPolicy::never());

    let keys = bounded(client.list_public_keys()).await.expect("all pages");

    assert_eq!(keys.len(), 3);
    let paths: Vec<_> = fake.requests().into_iter().map(|request| request.path_and_query).collect();
    assert_eq!(paths, ["/v1/Credentials/PublicKeys?PageSize=1000", "/v1/Credentials/PublicKeys?Page=1"]);
}

#[tokio::test]
async fn a_next_page_elsewhere_is_not_followed() {
    let fake = FakeTwilio::start([]).await;
    let other_port = fake.url.rsplit_once(':').map(|(host, port)| {
        let port: u16 = port.parse().expect("port");
        format!("{host}:{}/v1/Credentials/AWS?Page=1", port.wrapping_add(1))
    });
    let elsewhere = [
        Some("https://accounts.twilio.com.attacker.example/v1/Credentials/AWS?Page=1".to_owned()),
        Some(format!("{}/v1/Credentials/AWS?Page=1", fake.url.replace("http://", "https://"))),
        other_port,
    ];
    for next in &elsewhere {
        fake.push(page(0..1, next.as_deref()));
    }
    let client = fake.client(RetryPolicy::never());

    for next in &elsewhere {
        let error = bounded(client.list_aws_credentials()).await.expect_err("refused");
        assert!(matches!(error.failure(), Failure::UnsafePageUrl { .. }), "{next:?}: {error}");
        assert_eq!(error.kind(), ErrorKind::Internal);
    }
    assert_eq!(fake.requests().len(), elsewhere.len(), "only the first pages were requested");
}

#[tokio::test]
async fn a_page_cycle_is_broken() {
    let fake = FakeTwilio::start([]).await;
    let second = format!("{}/v1/Credentials/AWS?Page=1", fake.url);
    fake.push(page(0..1, Some(&second)));
    fake.push(page(1..2, Some(&second)));
    let client = fake.client(RetryPolicy::never());

    let error = bounded(client.list_aws_credentials()).await.expect_err("cycle");

    assert!(matches!(error.failure(), Failure::UnsafePageUrl { .. }), "{error}");
    assert_eq!(fake.requests().len(), 2);
}
