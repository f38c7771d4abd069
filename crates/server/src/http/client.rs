//! The client's address: the peer of the connection (from the `ConnectInfo` the server's
//! accept loop puts in each request), or — when that peer is a proxy the operator trusts
//! (`trusted_proxies`) — the address the proxies name in `X-Forwarded-For`. `None` when the
//! peer is missing (then logged as `unknown`).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use ipnet::IpNet;

use super::AppState;

const FORWARDED_FOR: &str = "x-forwarded-for";

pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let forwarded = parts
            .headers
            .get_all(FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(ClientAddr(peer.map(|peer| {
            client_address(peer, forwarded, &app.trusted_proxies)
        })))
    }
}

/// Walks the chain of `X-Forwarded-For` from the nearest hop back while each hop is a
/// trusted proxy: the first address that is not is the client. Anything a client wrote
/// itself sits further left and is never reached unless every hop after it is trusted; an
/// entry that is not an address ends the walk at the last trusted hop.
fn client_address<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().expect("net")).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let got = client_address(
            ip("203.0.113.7"),
            ["198.51.100.1"].into_iter(),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(got, ip("203.0.113.7"));
        let none = client_address(ip("10.0.0.2"), ["198.51.100.1"].into_iter(), &[]);
        assert_eq!(none, ip("10.0.0.2"), "no proxy is trusted by default");
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged the first entry; the proxy appended the real address.
        let got = client_address(
            ip("10.0.0.2"),
            ["1.2.3.4, 198.51.100.9", "10.0.0.5"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.9"));
        let no_header = client_address(ip("10.0.0.2"), std::iter::empty(), &trusted);
        assert_eq!(no_header, ip("10.0.0.2"));
        let garbage = client_address(
            ip("10.0.0.2"),
            ["10.0.0.3, not-an-ip"].into_iter(),
            &trusted,
        );
        assert_eq!(garbage, ip("10.0.0.2"));
        let v6 = client_address(ip("10.0.0.2"), ["2001:db8::1"].into_iter(), &trusted);
        assert_eq!(v6, ip("2001:db8::1"));
    }
}
