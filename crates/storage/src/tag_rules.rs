//! Values going in and out of the auto-tag tables. Validation lives in
//! `kiku_domain::tag_rule`; storage keeps what it is given.

use kiku_domain::tag_rule::TagRuleSpec;
use kiku_domain::{CallId, CompanyId, TagRuleId};
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq)]
pub struct TagRule {
    pub id: TagRuleId,
    pub company_id: CompanyId,
    pub spec: TagRuleSpec,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A tag a rule gave a call.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoTag {
    pub call_id: CallId,
    pub rule_id: TagRuleId,
    /// The rule's name now.
    pub rule_name: String,
    pub tag: String,
}

/// One page of applying a rule to past calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagRulePage {
    /// Where the next page starts (exclusive).
    pub last: CallId,
    /// Calls evaluated on this page.
    pub calls: u64,
    /// Of those, the ones the rule tags.
    pub tagged: u64,
}
