//! The mock ministries over real HTTP on 127.0.0.1:0: every endpoint, not found, bad ids,
//! wrong PIN, knobs (latency, 500s, hang, malformed), and the request log.

use std::time::Duration;

use bawaba_sim::ministries::{
    Hang, Knobs, Malformed, Ministries, MinistriesConfig, MinistriesHandle, Scope, Service,
};
use serde_json::{json, Value};

async fn start() -> (MinistriesHandle, reqwest::Client, String) {
    let m = Ministries::start(MinistriesConfig::local()).await.unwrap();
    let base = format!("http://{}", m.local_addr());
    (m, client(), base)
}

/// A plain-HTTP client. In a workspace build reqwest carries the gateway's
/// `rustls-no-provider` feature, so even a plain client needs a rustls
/// configuration with a provider (an empty root store: no TLS is trusted).
fn client() -> reqwest::Client {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

async fn get(c: &reqwest::Client, url: String) -> (u16, String) {
    let r = c.get(url).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

async fn get_json(c: &reqwest::Client, url: String) -> (u16, Value) {
    let (s, t) = get(c, url).await;
    (
        s,
        serde_json::from_str(&t).unwrap_or_else(|e| panic!("{e}: {t}")),
    )
}

#[tokio::test]
async fn every_endpoint_in_three_languages() {
    let (_m, c, base) = start().await;
    let (s, v) = get_json(&c, format!("{base}/pds/v1/cards/123456/balance")).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["balance"].as_str().unwrap().parse::<u32>().unwrap() % 1000,
        0
    );
    let ar = v["holder"].as_str().unwrap().to_owned();
    assert!(
        ar.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
        "{ar}"
    );
    let (_, en) = get_json(&c, format!("{base}/pds/v1/cards/123456/balance?lang=en")).await;
    assert!(en["holder"].as_str().unwrap().is_ascii());
    assert_eq!(
        en["members"], v["members"],
        "same citizen in every language"
    );
    let (_, again) = get_json(&c, format!("{base}/pds/v1/cards/123456/balance")).await;
    assert_eq!(again, v, "deterministic");

    let (s, v) = get_json(
        &c,
        format!("{base}/pds/v1/cards/123456/entitlements?lang=ckb"),
    )
    .await;
    assert_eq!((s, v["month"].as_str()), (200, Some("2026-11")));
    let items = v["items"].as_array().unwrap();
    assert!((4..=8).contains(&items.len()), "{v}");
    assert_eq!(
        items[0],
        json!({"name_ar": "طحين", "name_ckb": "ئارد", "name_en": "Flour", "qty": "9",
               "unit_ar": "كغم", "unit_ckb": "کگم", "unit_en": "kg"}),
        "every language at once, quantity per member"
    );

    let (s, v) = get_json(
        &c,
        format!("{base}/electricity/v1/accounts/123456/bill?lang=en"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["period"], "2026-10");
    assert!(v["due_date"].as_str().unwrap().starts_with("2026-12-"));
    assert!(v["amount"].as_str().unwrap().parse::<u32>().is_ok());

    let (s, v) = get_json(
        &c,
        format!("{base}/passport/v1/applications/123459/status?lang=en"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"status": "collected", "status_text": "Collected", "office_ar": "البصرة",
               "office_ckb": "بەسرە", "office_en": "Basra", "updated": "2026-11-13"})
    );

    let r = c
        .post(format!("{base}/pension/v1/inquiry?lang=en"))
        .body(r#"{"pension_number":"123456","pin":"9355"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(
        v,
        json!({"holder": "Ali Abbas Al-Obaidi", "amount": "530000", "next_payment": "2026-12-01"})
    );
}

#[tokio::test]
async fn not_found_bad_ids_and_wrong_pin() {
    let (m, c, base) = start().await;
    let nf = json!({"error": "not_found"});
    for url in [
        "/pds/v1/cards/123461/balance",
        "/pds/v1/cards/123461/entitlements",
        "/electricity/v1/accounts/123457/bill",
        "/passport/v1/applications/123456/status",
        "/tax/v1/anything",
    ] {
        assert_eq!(
            get_json(&c, format!("{base}{url}")).await,
            (404, nf.clone()),
            "{url}"
        );
    }
    for url in [
        "/pds/v1/cards/12ab56/balance",
        "/pds/v1/cards/123/balance",
        "/electricity/v1/accounts/%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6/bill",
        "/passport/v1/applications/1234567890123/status",
    ] {
        let (s, v) = get_json(&c, format!("{base}{url}")).await;
        assert_eq!((s, &v["error"]), (400, &json!("invalid_id")), "{url}");
    }
    let (s, v) = get_json(&c, format!("{base}/pds/v1/cards/123456/balance?lang=fr")).await;
    assert_eq!((s, &v["error"]), (400, &json!("unsupported_lang")));

    let post = |body: &'static str| {
        let c = c.clone();
        let url = format!("{base}/pension/v1/inquiry");
        async move {
            let r = c.post(url).body(body).send().await.unwrap();
            let s = r.status().as_u16();
            (
                s,
                serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap(),
            )
        }
    };
    let bad_pin = json!({"error": "invalid_pin"});
    assert_eq!(
        post(r#"{"pension_number":"123456","pin":"0000"}"#).await,
        (403, bad_pin)
    );
    assert_eq!(
        post(r#"{"pension_number":"123461","pin":"1234"}"#).await,
        (404, nf)
    );
    assert_eq!(post(r#"{"pension_number":"123456"}"#).await.0, 400);
    assert_eq!(post("not json").await.0, 400);
    assert_eq!(
        post(r#"{"pension_number":"1;DROP","pin":"1"}"#).await.0,
        400
    );
    assert!(m.requests().iter().any(|r| r.body.contains("1;DROP")));
    let r = c
        .post(format!("{base}/pension/v1/inquiry"))
        .body(vec![b' '; 20_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let (s, _) = get(&c, format!("{base}/pension/v1/inquiry")).await;
    assert_eq!(s, 405);
    assert_eq!(m.base_url(), base);
}

#[tokio::test]
async fn request_log_keeps_an_injection_attempt_raw() {
    let (m, c, base) = start().await;
    let (s, v) = get_json(
        &c,
        format!("{base}/pds/v1/cards/1%2F..%2Fadmin/balance?lang=en&x=%27%20OR%201=1"),
    )
    .await;
    assert_eq!((s, &v["error"]), (400, &json!("invalid_id")));
    let r = c
        .get(format!("{base}/passport/v1/applications/123459/status"))
        .header("authorization", "Bearer s3cret")
        .header("x-request-id", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let log = m.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (
            log[0].method.as_str(),
            log[0].path.as_str(),
            log[0].query.as_deref()
        ),
        (
            "GET",
            "/pds/v1/cards/1%2F..%2Fadmin/balance",
            Some("lang=en&x=%27%20OR%201=1")
        )
    );
    let header = |k: &str| {
        log[1]
            .headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("authorization"), Some("***"));
    assert_eq!(header("x-request-id"), Some("abc"));
}

#[tokio::test]
async fn knobs_latency_errors_malformed_and_hang() {
    let (m, c, base) = start().await;
    let url = format!("{base}/pds/v1/cards/123456/balance");

    m.set_knobs(
        Scope::All,
        Knobs {
            latency: Duration::from_millis(300),
            ..Knobs::default()
        },
    );
    let t = std::time::Instant::now();
    assert_eq!(get(&c, url.clone()).await.0, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );

    m.set_knobs(
        Scope::All,
        Knobs {
            error_rate: 0.5,
            ..Knobs::default()
        },
    );
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(&c, url.clone()).await.0);
    }
    assert_eq!(statuses, vec![200, 500, 200, 500]);

    // Per service: only electricity is spoiled.
    m.set_knobs(Scope::All, Knobs::default());
    m.set_knobs(
        Scope::Only(Service::Electricity),
        Knobs {
            malformed: Some(Malformed::Truncated),
            ..Knobs::default()
        },
    );
    let (s, body) = get(&c, format!("{base}/electricity/v1/accounts/123456/bill")).await;
    assert_eq!(s, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    assert_eq!(get_json(&c, url.clone()).await.0, 200, "pds unaffected");
    m.set_knobs(
        Scope::Only(Service::Pds),
        Knobs {
            malformed: Some(Malformed::WrongTypes),
            ..Knobs::default()
        },
    );
    let (_, v) = get_json(&c, url.clone()).await;
    assert!(v["balance"].is_number() && v["holder"].is_boolean(), "{v}");
    let (s, v) = get_json(&c, format!("{base}/pds/v1/cards/123461/balance")).await;
    assert_eq!(
        (s, v),
        (404, json!({"error": "not_found"})),
        "errors are not spoiled"
    );

    // Hang: the client's own timeout fires; the request was still logged.
    m.set_knobs(
        Scope::Only(Service::Passport),
        Knobs {
            hang: Hang::Never,
            ..Knobs::default()
        },
    );
    let before = m.requests().len();
    let r = c
        .get(format!("{base}/passport/v1/applications/123459/status"))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    assert_eq!(m.requests().len(), before + 1);
    m.set_knobs(
        Scope::Only(Service::Passport),
        Knobs {
            hang: Hang::For(Duration::from_millis(200)),
            ..Knobs::default()
        },
    );
    let t = std::time::Instant::now();
    assert_eq!(
        get(&c, format!("{base}/passport/v1/applications/123459/status"))
            .await
            .0,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(200));
    m.shutdown();
}

/// The plain-text answer an HTTP-keyword gateway (Kannel's get-url) sends back as the SMS: the
/// same balance as the JSON endpoint, whatever the encoding of the space, and the PDS knobs.
#[tokio::test]
async fn keyword_sms_reply_is_plain_text_with_the_json_balance() {
    let (m, c, base) = start().await;
    let (_, v) = get_json(&c, format!("{base}/pds/v1/cards/12345678/balance")).await;
    let want = format!(
        "Card 12345678: balance {} IQD",
        v["balance"].as_str().unwrap()
    );
    for text in ["PDS+12345678", "PDS%2012345678", "pds%20%2012345678"] {
        let r = c
            .get(format!(
                "{base}/pds/v1/sms?from=%2B9647701&to=2150&text={text}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/plain"), "{ct}");
        assert_eq!(r.text().await.unwrap(), want, "{text}");
    }
    let (s, body) = get(&c, format!("{base}/pds/v1/sms?text=PDS+12")).await;
    assert_eq!((s, body.as_str()), (200, "Unknown card"));
    let (_, body) = get(&c, format!("{base}/pds/v1/sms")).await;
    assert_eq!(body, "Unknown card");

    let latency = Duration::from_millis(150);
    m.set_knobs(
        Scope::Only(Service::Pds),
        Knobs {
            latency,
            ..Knobs::default()
        },
    );
    let t0 = std::time::Instant::now();
    let (_, body) = get(&c, format!("{base}/pds/v1/sms?text=PDS+12345678")).await;
    assert!(t0.elapsed() >= latency);
    assert_eq!(body, want);
}
