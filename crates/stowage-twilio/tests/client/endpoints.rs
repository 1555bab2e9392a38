use stowage_twilio::TwilioEndpoints;

#[test]
fn defaults_are_twilio() {
    let endpoints = TwilioEndpoints::from_overrides(None, None, None).expect("defaults");
    assert_eq!(endpoints.accounts().as_str(), "https://accounts.twilio.com/");
    assert_eq!(endpoints.video().as_str(), "https://video.twilio.com/");
    assert_eq!(endpoints.monitor().as_str(), "https://monitor.twilio.com/");
}

#[test]
fn plain_http_is_accepted_for_loopback_hosts() {
    for url in ["http://127.0.0.1:4010", "http://127.1.2.3", "http://[::1]:4010/", "http://localhost:4010/twilio"] {
        let endpoints = TwilioEndpoints::from_overrides(Some(url), Some(url), Some(url)).expect(url);
        assert_eq!(endpoints.accounts(), endpoints.video(), "{url}");
        assert_eq!(endpoints.accounts(), endpoints.monitor(), "{url}");
        assert_eq!(endpoints.accounts().scheme(), "http", "{url}");
    }
    let remote = TwilioEndpoints::from_overrides(Some("https://twilio.example.com/proxy"), None, None).expect("https");
    assert_eq!(remote.accounts().as_str(), "https://twilio.example.com/proxy");
    let monitor = TwilioEndpoints::from_overrides(None, None, Some("https://monitor.example.com/")).expect("https");
    assert_eq!(monitor.monitor().as_str(), "https://monitor.example.com/");
    assert_eq!(monitor.video().as_str(), "https://video.twilio.com/", "each override is its own");
}

#[test]
fn unusable_overrides_are_refused_with_a_message() {
    let cases = [
        (Some("http://accounts.example.com"), None, None),
        (Some("http://10.0.0.1:8080"), None, None),
        (None, Some("http://127.0.0.1.nip.io"), None),
        (None, Some("ftp://127.0.0.1/"), None),
        (None, Some("video.twilio.com"), None),
        (None, Some(""), None),
        (Some("https://user:hunter2@accounts.example.com/"), None, None),
        (Some("https://accounts.example.com/?region=ie1"), None, None),
        (None, None, Some("http://monitor.example.com")),
        (None, None, Some("")),
        (None, None, Some("monitor.twilio.com")),
    ];
    let mut report = String::new();
    for (accounts, video, monitor) in cases {
        let error = TwilioEndpoints::from_overrides(accounts, video, monitor).expect_err("refused");
        let message = error.to_string();
        assert!(!message.contains("hunter2"), "a password in the URL is not shown: {message}");
        report.push_str(&format!("{}\n  {message}\n", accounts.or(video).or(monitor).unwrap_or_default()));
    }
    insta::assert_snapshot!(report);
}
