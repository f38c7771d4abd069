use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

#[test]
fn refused_addresses() {
    for s in [
        "127.0.0.1",
        "127.1.2.3",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "198.18.0.1",
        "198.19.255.255",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "0.0.0.0",
        "0.1.2.3",
        "192.0.2.1",
        "198.51.100.1",
        "203.0.113.1",
        "192.0.0.8",
        "::1",
        "::",
        "ff02::1",
        "fe80::1",
        "febf::1",
        "fc00::1",
        "fd12:3456::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
        "::127.0.0.1",
        "100::1",
    ] {
        assert!(is_refused(ip(s)), "{s} should be refused");
    }
}

#[test]
fn public_addresses() {
    for s in [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "172.32.0.1",
        "100.128.0.1",
        "198.20.0.1",
        "169.255.0.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001::1",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::",
    ] {
        assert!(!is_refused(ip(s)), "{s} should be allowed");
    }
}

fn policy(allow: &str, resolver: StaticResolver) -> SsrfPolicy {
    SsrfPolicy::new(
        parse_allow_networks(allow).expect("networks"),
        Arc::new(resolver),
    )
}

#[test]
fn the_allow_list_re_allows_networks() {
    let p = policy("127.0.0.0/8, fd00::/8", StaticResolver::default());
    assert!(p.permits(ip("127.0.0.1")));
    assert!(p.permits(ip("::ffff:127.0.0.1")));
    assert!(p.permits(ip("fd00::1")));
    assert!(!p.permits(ip("10.0.0.1")));
    assert!(!p.permits(ip("::1")));
    assert_eq!(parse_allow_networks(""), Ok(vec![]));
    assert_eq!(
        parse_allow_networks("10.0.0.0/33"),
        Err(InvalidNetwork("10.0.0.0/33".into()))
    );
    assert!(parse_allow_networks("localhost").is_err());
}

#[tokio::test]
async fn literals_are_checked_without_resolving() {
    let p = policy("", StaticResolver::default());
    for url in [
        "http://127.0.0.1:9/",
        "http://[::ffff:127.0.0.1]/",
        "http://0x7f.1/",
        "http://169.254.169.254/latest",
        "https://[fe80::1]/",
        "http://10.0.0.1/",
        "http://2130706433/",
    ] {
        assert!(
            matches!(p.check_url(url).await, Err(SsrfError::Refused { .. })),
            "{url}"
        );
    }
    assert_eq!(p.check_url("http://93.184.216.34/").await, Ok(()));
    assert_eq!(
        p.check_url("ftp://93.184.216.34/").await,
        Err(SsrfError::Scheme)
    );
}

#[tokio::test]
async fn names_are_judged_by_every_address() {
    let resolver = StaticResolver::default()
        .with("inside.test", &[ip("127.0.0.1")])
        .with("metadata.test", &[ip("169.254.169.254")])
        .with("mixed.test", &[ip("93.184.216.34"), ip("10.0.0.1")])
        .with("public.test", &[ip("93.184.216.34")]);
    let p = policy("", resolver);
    assert_eq!(
        p.check_url("http://inside.test:8080/x").await,
        Err(SsrfError::Refused {
            host: "inside.test".into(),
            address: ip("127.0.0.1")
        })
    );
    assert!(p.check_url("https://metadata.test/").await.is_err());
    assert!(p.check_url("https://mixed.test/").await.is_err());
    assert!(matches!(
        p.check_url("https://unknown.test/").await,
        Err(SsrfError::Resolve { .. })
    ));
    assert_eq!(p.check_url("https://public.test/").await, Ok(()));
    // At delivery only permitted addresses are handed to the connector.
    assert_eq!(p.resolve("mixed.test").await, Ok(vec![ip("93.184.216.34")]));
    assert!(p.resolve("inside.test").await.is_err());
}

#[tokio::test]
async fn localhost_through_the_system_resolver_is_refused() {
    let p = SsrfPolicy::new(vec![], Arc::new(SystemResolver));
    assert!(matches!(
        p.check_url("http://localhost:1/").await,
        Err(SsrfError::Refused { .. })
    ));
}
