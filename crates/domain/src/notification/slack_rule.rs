//! A Slack rule's name and filters, and whether a call passes them. A rule without
//! filters takes every analysed call of its company.

use serde::{Deserialize, Serialize};

use super::InvalidNotification;
use crate::{EventType, UserId};

/// 1 to 100 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleName(String);

impl RuleName {
    pub fn parse(raw: &str) -> Result<Self, InvalidNotification> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > 100 {
            return Err(InvalidNotification::Name);
        }
        Ok(Self(name.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which calls a rule posts about; each list that is not empty must match (any of its
/// values), and the score must lie within the bounds given. No filters: every analysed
/// call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlackRuleFilters {
    /// A user of the company on either side of the call.
    #[serde(default)]
    pub user_ids: Vec<UserId>,
    /// The call's `event_type` (`OUTGOING_CALL`, `INCOMING_CALL`, …).
    #[serde(default)]
    pub event_types: Vec<EventType>,
    /// One of the call's tags (the PBX's or an auto tag), exactly.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub min_score: Option<f64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub max_score: Option<f64>,
}

/// What the filters look at.
#[derive(Debug, Clone, Copy)]
pub struct CallFacts<'a> {
    pub users: &'a [UserId],
    pub event_type: EventType,
    pub tags: &'a [String],
    pub score: f64,
}

impl SlackRuleFilters {
    /// From the API's JSON object (`null` or absent: no filters).
    pub fn parse(value: &serde_json::Value) -> Result<Self, InvalidNotification> {
        if value.is_null() {
            return Ok(Self::default());
        }
        let filters: Self = serde_json::from_value(value.clone())
            .map_err(|e| InvalidNotification::Filters(e.to_string()))?;
        filters.check()?;
        Ok(filters)
    }

    fn check(&self) -> Result<(), InvalidNotification> {
        let bad = |why: &str| Err(InvalidNotification::Filters(why.into()));
        let in_range = |s: Option<f64>| s.is_none_or(|s| (0.0..=100.0).contains(&s));
        if !in_range(self.min_score) || !in_range(self.max_score) {
            return bad("min_score and max_score must be 0 to 100");
        }
        if let (Some(min), Some(max)) = (self.min_score, self.max_score) {
            if min > max {
                return bad("min_score must not be above max_score");
            }
        }
        if self.user_ids.len() > 1000 || self.tags.len() > 100 {
            return bad("at most 1000 user_ids and 100 tags");
        }
        if self.tags.iter().any(|t| t.trim().is_empty()) {
            return bad("tags must not be empty");
        }
        Ok(())
    }

    pub fn matches(&self, call: &CallFacts<'_>) -> bool {
        let users =
            self.user_ids.is_empty() || self.user_ids.iter().any(|u| call.users.contains(u));
        let events = self.event_types.is_empty() || self.event_types.contains(&call.event_type);
        let tags = self.tags.is_empty() || self.tags.iter().any(|t| call.tags.contains(t));
        let min = self.min_score.is_none_or(|m| call.score >= m);
        let max = self.max_score.is_none_or(|m| call.score <= m);
        users && events && tags && min && max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_given_filter_must_match() {
        let user = UserId::new();
        let tags = vec!["vip".to_string()];
        let users = [user];
        let facts = CallFacts {
            users: &users,
            event_type: EventType::OutgoingCall,
            tags: &tags,
            score: 62.5,
        };
        assert!(SlackRuleFilters::default().matches(&facts));
        let all = SlackRuleFilters::parse(&json!({
            "user_ids": [user], "event_types": ["OUTGOING_CALL"], "tags": ["vip", "x"],
            "min_score": 60, "max_score": 70
        }))
        .expect("valid");
        assert!(all.matches(&facts));
        for miss in [
            json!({"user_ids": [UserId::new()]}),
            json!({"event_types": ["INCOMING_CALL"]}),
            json!({"tags": ["other"]}),
            json!({"min_score": 63}),
            json!({"max_score": 62}),
        ] {
            let f = SlackRuleFilters::parse(&miss).expect("valid");
            assert!(!f.matches(&facts), "{miss}");
        }
    }

    #[test]
    fn bad_filters_are_explained() {
        for bad in [
            json!({"min_score": 101}),
            json!({"min_score": 50, "max_score": 40}),
            json!({"event_types": ["PHONE"]}),
            json!({"colour": "red"}),
            json!({"tags": [" "]}),
        ] {
            assert!(SlackRuleFilters::parse(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            SlackRuleFilters::parse(&json!(null)),
            Ok(SlackRuleFilters::default())
        );
    }
}
