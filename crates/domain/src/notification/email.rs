//! E-mail addresses as Kiku accepts them for notifications, and a company's recipients.

use super::InvalidNotification;

/// Company-wide recipients a company may have at most.
pub const MAX_RECIPIENTS: usize = 50;

/// `local@domain`, lower-cased, without spaces, angle brackets or control characters, at
/// most 254 characters: enough to refuse typos and header injection; the SMTP server is
/// the judge of the rest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidNotification> {
        let text = raw.trim().to_lowercase();
        let bad = || InvalidNotification::Email(raw.to_string());
        if text.len() > 254
            || text.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
            })
        {
            return Err(bad());
        }
        let (local, domain) = text.split_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.is_empty()
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A company's recipients: each address once, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailRecipients(Vec<EmailAddress>);

impl EmailRecipients {
    pub fn parse(raw: &[String]) -> Result<Self, InvalidNotification> {
        let mut out: Vec<EmailAddress> = Vec::new();
        for r in raw {
            let address = EmailAddress::parse(r)?;
            if !out.contains(&address) {
                out.push(address);
            }
        }
        if out.len() > MAX_RECIPIENTS {
            return Err(InvalidNotification::TooManyRecipients);
        }
        Ok(Self(out))
    }

    pub fn addresses(&self) -> &[EmailAddress] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lower_cased_and_injection_is_refused() {
        assert_eq!(
            EmailAddress::parse(" Sales@Acme.Example ").map(|a| a.0),
            Ok("sales@acme.example".into())
        );
        for bad in [
            "",
            "no-at",
            "a@",
            "@b",
            "a@b@c",
            "a b@c",
            "a@c\r\nBcc: x@y",
            "<a@b>",
            "a@.b",
            "a@b.",
            "a@b..c",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn recipients_are_deduplicated_and_capped() {
        let r = EmailRecipients::parse(&["a@x.jp".into(), "A@x.jp".into(), "b@x.jp".into()])
            .expect("valid");
        assert_eq!(r.addresses().len(), 2);
        let many: Vec<String> = (0..=MAX_RECIPIENTS).map(|i| format!("u{i}@x.jp")).collect();
        assert_eq!(
            EmailRecipients::parse(&many),
            Err(InvalidNotification::TooManyRecipients)
        );
    }
}
