//! The call score: 50 + duration points − (talk ratio % − 40) − 10 × overlaps/min
//! − 10 × silences/min (+ keyword points), within bounds. Admins may change every number.

use serde::{Deserialize, Serialize};

/// A company's scoring rule. The default is the product's: `base` + the points of the last
/// `duration_points` row the call reaches + `talk_ratio_weight` × (user talk share in % −
/// `talk_ratio_target_percent`) + `overlap_per_minute_weight` × overlaps/min +
/// `silence_per_minute_weight` × silences/min + keyword points, clamped to `min`..`max`.
/// Refused with 422 `invalid_request`: a non-finite number, `min` ≥ `max`,
/// `duration_points` not starting at 0 minutes or not in ascending order, a
/// `keyword_points` entry without a keyword.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScoreRule {
    pub base: f64,
    /// `(from_minutes, points)`, ascending; a call gets the points of the last row it reaches.
    pub duration_points: Vec<(f64, f64)>,
    /// Points per talk-ratio percentage point above the target (negative: talking too much costs).
    pub talk_ratio_weight: f64,
    pub talk_ratio_target_percent: f64,
    pub overlap_per_minute_weight: f64,
    pub silence_per_minute_weight: f64,
    /// `[keyword, points]`: points per occurrence, for keywords also listed in `keywords`
    /// with the same spelling.
    #[serde(default)]
    pub keyword_points: Vec<(String, f64)>,
    pub min: f64,
    pub max: f64,
}

impl Default for ScoreRule {
    fn default() -> Self {
        Self {
            base: 50.0,
            duration_points: vec![
                (0.0, 0.0),
                (5.0, 30.0),
                (10.0, 50.0),
                (20.0, 50.0),
                (30.0, 30.0),
                (40.0, 0.0),
                (50.0, -10.0),
                (60.0, -20.0),
            ],
            talk_ratio_weight: -1.0,
            talk_ratio_target_percent: 40.0,
            overlap_per_minute_weight: -10.0,
            silence_per_minute_weight: -10.0,
            keyword_points: Vec::new(),
            min: 0.0,
            max: 100.0,
        }
    }
}

/// What the score is computed from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScoreInputs {
    pub duration_seconds: f64,
    /// 0–1; `None` when nobody spoke (no talk-ratio term then).
    pub talk_ratio: Option<f64>,
    pub overlaps_per_minute: f64,
    pub silences_per_minute: f64,
    /// `(keyword, hits)` found in the call.
    pub keyword_hits: Vec<(String, usize)>,
}

impl ScoreRule {
    /// Refuses rules that could not score sensibly.
    pub fn validate(&self) -> Result<(), String> {
        let numbers = [
            self.base,
            self.talk_ratio_weight,
            self.talk_ratio_target_percent,
            self.overlap_per_minute_weight,
            self.silence_per_minute_weight,
            self.min,
            self.max,
        ];
        if numbers
            .iter()
            .chain(self.duration_points.iter().flat_map(|(a, b)| [a, b]))
            .any(|n| !n.is_finite())
        {
            return Err("every number must be finite".into());
        }
        if self.min >= self.max {
            return Err("min must be below max".into());
        }
        if self
            .duration_points
            .first()
            .is_none_or(|(from, _)| *from != 0.0)
        {
            return Err("duration_points must start at 0 minutes".into());
        }
        if self.duration_points.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err("duration_points must be in ascending order of minutes".into());
        }
        if self
            .keyword_points
            .iter()
            .any(|(k, p)| k.trim().is_empty() || !p.is_finite())
        {
            return Err("keyword_points need a keyword and finite points".into());
        }
        Ok(())
    }

    pub fn duration_points(&self, seconds: f64) -> f64 {
        let minutes = seconds / 60.0;
        self.duration_points
            .iter()
            .take_while(|(from, _)| minutes >= *from)
            .last()
            .map_or(0.0, |(_, p)| *p)
    }

    pub fn score(&self, inputs: &ScoreInputs) -> f64 {
        let talk = inputs.talk_ratio.map_or(0.0, |r| {
            self.talk_ratio_weight * (r * 100.0 - self.talk_ratio_target_percent)
        });
        let keywords: f64 = inputs
            .keyword_hits
            .iter()
            .filter_map(|(word, hits)| {
                self.keyword_points
                    .iter()
                    .find(|(k, _)| k.to_lowercase() == word.to_lowercase())
                    .map(|(_, p)| p * *hits as f64)
            })
            .sum();
        let raw = self.base
            + self.duration_points(inputs.duration_seconds)
            + talk
            + self.overlap_per_minute_weight * inputs.overlaps_per_minute
            + self.silence_per_minute_weight * inputs.silences_per_minute
            + keywords;
        raw.clamp(self.min, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_product_rule_by_hand() {
        let rule = ScoreRule::default();
        assert!(rule.validate().is_ok());
        // 6 minutes (+30), talk ratio 50 % (−10), 0.5 overlaps/min (−5), 0.25 silences/min (−2.5).
        let inputs = ScoreInputs {
            duration_seconds: 360.0,
            talk_ratio: Some(0.5),
            overlaps_per_minute: 0.5,
            silences_per_minute: 0.25,
            keyword_hits: vec![],
        };
        assert!((rule.score(&inputs) - 62.5).abs() < 1e-9);
        for (minutes, points) in [
            (4.9, 0.0),
            (5.0, 30.0),
            (15.0, 50.0),
            (25.0, 50.0),
            (35.0, 30.0),
            (45.0, 0.0),
            (55.0, -10.0),
            (61.0, -20.0),
        ] {
            assert_eq!(
                rule.duration_points(minutes * 60.0),
                points,
                "{minutes} min"
            );
        }
        assert_eq!(
            rule.score(&ScoreInputs {
                talk_ratio: Some(1.0),
                silences_per_minute: 9.0,
                ..Default::default()
            }),
            0.0,
            "clamped"
        );
    }

    #[test]
    fn custom_rules_and_keywords() {
        let rule = ScoreRule {
            keyword_points: vec![("見積".into(), 5.0)],
            max: 200.0,
            ..ScoreRule::default()
        };
        let inputs = ScoreInputs {
            talk_ratio: Some(0.4),
            keyword_hits: vec![("見積".into(), 3), ("other".into(), 9)],
            ..Default::default()
        };
        assert_eq!(rule.score(&inputs), 65.0);
        assert!(ScoreRule {
            min: 5.0,
            max: 5.0,
            ..ScoreRule::default()
        }
        .validate()
        .is_err());
        assert!(ScoreRule {
            duration_points: vec![(0.0, 1.0), (0.0, 2.0)],
            ..ScoreRule::default()
        }
        .validate()
        .is_err());
        assert!(ScoreRule {
            base: f64::NAN,
            ..ScoreRule::default()
        }
        .validate()
        .is_err());
    }

    proptest! {
        #[test]
        fn scores_stay_in_bounds_and_talking_more_never_helps(
            secs in 0.0f64..10_000.0, r in 0.0f64..1.0, o in 0.0f64..10.0, s in 0.0f64..10.0, more in 0.0f64..0.5,
        ) {
            let rule = ScoreRule::default();
            let a = ScoreInputs { duration_seconds: secs, talk_ratio: Some(r), overlaps_per_minute: o, silences_per_minute: s, keyword_hits: vec![] };
            let b = ScoreInputs { talk_ratio: Some((r + more).min(1.0)), ..a.clone() };
            let score = rule.score(&a);
            prop_assert!((rule.min..=rule.max).contains(&score));
            prop_assert!(rule.score(&b) <= score);
        }
    }
}
