//! Which addresses outgoing webhooks may reach: public unicast only, unless the operator's
//! `outgoing_allow_networks` allows a network. Checked at save and at every delivery; the
//! client connects only to addresses this module returned, so DNS rebinding cannot swap them.

use ipnet::IpNet;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

pub type ResolveFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns a host name into addresses. The system's resolver in production; a table in tests,
/// so that no test ever sends a packet outside 127.0.0.0/8.
pub trait HostResolver: Send + Sync + 'static {
    fn resolve(&self, host: &str) -> ResolveFuture;
}

/// The operating system's resolver (`getaddrinfo` through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn resolve(&self, host: &str) -> ResolveFuture {
        let host = host.to_owned();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// A fixed table of names; unknown names do not resolve. For tests.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver(HashMap<String, Vec<IpAddr>>);

impl StaticResolver {
    pub fn with(mut self, host: &str, addresses: &[IpAddr]) -> Self {
        self.0.insert(host.to_ascii_lowercase(), addresses.to_vec());
        self
    }
}

impl HostResolver for StaticResolver {
    fn resolve(&self, host: &str) -> ResolveFuture {
        let found = self.0.get(&host.to_ascii_lowercase()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "unknown host"))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error("url must be http or https")]
    Scheme,
    #[error("url is not valid: {0}")]
    Url(String),
    #[error("host {host} is or resolves to {address}, in a network Kiku does not send to (loopback, private, link-local, CGNAT, multicast, reserved…); the operator can allow it with outgoing_allow_networks")]
    Refused { host: String, address: IpAddr },
    #[error("host {host} could not be resolved: {reason}")]
    Resolve { host: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outgoing_allow_networks: {0:?} is not a CIDR network (like 10.0.0.0/8 or fd00::/8)")]
pub struct InvalidNetwork(pub String);

/// Parses a comma-separated CIDR list setting (`outgoing_allow_networks`,
/// `trusted_proxies`); blanks are skipped.
pub fn parse_allow_networks(raw: &str) -> Result<Vec<IpNet>, InvalidNetwork> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<IpNet>().map_err(|_| InvalidNetwork(s.to_owned())))
        .collect()
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

const V4_REFUSED: [([u8; 4], u32); 15] = [
    ([0, 0, 0, 0], 8),       // "this network", incl. unspecified
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // CGNAT
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local, incl. cloud metadata 169.254.169.254
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation
    ([203, 0, 113, 0], 24),  // documentation
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, incl. broadcast
];

fn v4_refused(ip: Ipv4Addr) -> bool {
    V4_REFUSED
        .iter()
        .any(|&(net, prefix)| in_v4(ip, net, prefix))
}

/// Whether the rule refuses `ip`, before any allow list. IPv4-mapped addresses are judged
/// as the IPv4 address they carry; so are NAT64 (64:ff9b::/96) and 6to4 (2002::/16) ones.
pub fn is_refused(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4_refused(v4),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            if in_v6(v6, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
                return v4_refused(Ipv4Addr::from(bits as u32));
            }
            if in_v6(v6, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
                return v4_refused(Ipv4Addr::from((bits >> 80) as u32));
            }
            const V6_REFUSED: [([u16; 8], u32); 9] = [
                ([0, 0, 0, 0, 0, 0, 0, 0], 96), // unspecified, loopback, IPv4-compatible
                ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), // local-use NAT64
                ([0x100, 0, 0, 0, 0, 0, 0, 0], 64), // discard
                ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, Teredo
                ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
                ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), // unique local
                ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), // link-local
                ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), // site-local (deprecated)
                ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), // multicast
            ];
            V6_REFUSED
                .iter()
                .any(|&(net, prefix)| in_v6(v6, net, prefix))
        }
    }
}

/// The rule plus the operator's allow list and the resolver.
#[derive(Clone)]
pub struct SsrfPolicy {
    allow: Vec<IpNet>,
    resolver: Arc<dyn HostResolver>,
}

impl SsrfPolicy {
    pub fn new(allow: Vec<IpNet>, resolver: Arc<dyn HostResolver>) -> Self {
        Self { allow, resolver }
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        !is_refused(ip)
            || self
                .allow
                .iter()
                .any(|net| net.contains(&ip) || net.contains(&canonical))
    }

    /// The address of an IP-literal host, checked; `None` for a name. reqwest never asks
    /// the resolver about literals, so this check must run before every request.
    pub fn check_literal(&self, url: &reqwest::Url) -> Result<Option<IpAddr>, SsrfError> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(_)) => return Ok(None),
            None => return Err(SsrfError::Url("no host".into())),
        };
        if !self.permits(ip) {
            return Err(SsrfError::Refused {
                host: url.host_str().unwrap_or_default().into(),
                address: ip,
            });
        }
        Ok(Some(ip))
    }

    /// The permitted addresses of `host`; an error when there are none.
    pub async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, SsrfError> {
        let all = self
            .resolver
            .resolve(host)
            .await
            .map_err(|e| SsrfError::Resolve {
                host: host.into(),
                reason: e.to_string(),
            })?;
        let Some(&first) = all.first() else {
            return Err(SsrfError::Resolve {
                host: host.into(),
                reason: "no address".into(),
            });
        };
        let permitted: Vec<IpAddr> = all.iter().copied().filter(|&ip| self.permits(ip)).collect();
        if permitted.is_empty() {
            let address = all
                .iter()
                .copied()
                .find(|&ip| !self.permits(ip))
                .unwrap_or(first);
            return Err(SsrfError::Refused {
                host: host.into(),
                address,
            });
        }
        Ok(permitted)
    }

    /// The check at save: http(s), and every address of the host permitted (an admin is
    /// told at once about a name that partly points inside).
    pub async fn check_url(&self, raw: &str) -> Result<(), SsrfError> {
        let url = reqwest::Url::parse(raw).map_err(|e| SsrfError::Url(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SsrfError::Scheme);
        }
        if self.check_literal(&url)?.is_some() {
            return Ok(());
        }
        let host = url.host_str().unwrap_or_default();
        let all = self
            .resolver
            .resolve(host)
            .await
            .map_err(|e| SsrfError::Resolve {
                host: host.into(),
                reason: e.to_string(),
            })?;
        if let Some(&address) = all.iter().find(|&&ip| !self.permits(ip)) {
            return Err(SsrfError::Refused {
                host: host.into(),
                address,
            });
        }
        if all.is_empty() {
            return Err(SsrfError::Resolve {
                host: host.into(),
                reason: "no address".into(),
            });
        }
        Ok(())
    }
}

/// reqwest's resolver hook: only permitted addresses come back, and reqwest connects to
/// exactly those (port 0 is replaced by the URL's port).
pub(crate) struct CheckedDns(pub(crate) SsrfPolicy);

impl reqwest::dns::Resolve for CheckedDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let ips = policy.resolve(name.as_str()).await?;
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests;
