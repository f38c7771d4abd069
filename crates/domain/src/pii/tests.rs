use proptest::prelude::*;

use super::*;
use crate::analysis::Word;

fn utterance(speaker: usize, start: f64, text: &str) -> Utterance {
    Utterance {
        speaker,
        start,
        end: start + 2.0,
        text: text.into(),
        words: Vec::new(),
    }
}

fn transcript(utterances: Vec<Utterance>) -> Transcript {
    Transcript {
        format: 1,
        duration_seconds: 60.0,
        language: "en".into(),
        speech: [Vec::new(), Vec::new()],
        voices: [None, None],
        utterances,
        overlaps_estimated: false,
        truncated: false,
    }
}

fn redacted_texts(utterances: Vec<Utterance>, names: &[&str]) -> Vec<String> {
    let names = names_to_find(names.iter().copied());
    let (out, _) = redact(&transcript(utterances), &names);
    out.utterances.into_iter().map(|u| u.text).collect()
}

fn one(text: &str) -> String {
    redacted_texts(vec![utterance(1, 0.0, text)], &[]).remove(0)
}

#[test]
fn written_numbers_by_kind() {
    assert_eq!(
        one("My card is 4111 1111 1111 1111, thanks."),
        "My card is [card number], thanks."
    );
    assert_eq!(
        one("電話番号は090-1234-5678です"),
        "電話番号は[phone number]です"
    );
    assert_eq!(
        one("Call +44 20 7946 0958 please"),
        "Call [phone number] please"
    );
    assert_eq!(
        one("マイナンバーは123456789018です"),
        "マイナンバーは[my number]です"
    );
    assert_eq!(one("〒150-0002 東京都"), "〒[postal code] 東京都");
    assert_eq!(
        one("write to jane.doe@example.co.jp today"),
        "write to [e-mail] today"
    );
}

#[test]
fn spoken_numbers_across_phrases() {
    let texts = redacted_texts(
        vec![
            utterance(1, 0.0, "It's four one one one,"),
            utterance(0, 2.5, "Yes."),
            utterance(1, 3.0, "one one one one, one one one one"),
            utterance(1, 6.0, "and one one one one."),
        ],
        &[],
    );
    assert_eq!(
        texts,
        [
            "It's [card number],",
            "Yes.",
            "[card number]",
            "and [card number]."
        ]
    );
    assert_eq!(
        one("ゼロ・キュウ・ゼロの、イチニーサンヨンの、ゴーロクナナハチ"),
        "[phone number]"
    );
    assert_eq!(
        one("zero nine oh double four five six, seven eight nine oh"),
        "[phone number]"
    );
}

#[test]
fn what_is_not_personal_data_stays() {
    for text in [
        "はい、承知しました。",
        "The order 12345 ships in 3 days for 1,200 yen.",
        "Invoice 4111111111111112 failed the check.", // 16 digits, Luhn fails
        "It was one of those days, two or three times.",
        "Meeting on April 12, 2026.", // a date, but not said to be a birth date
        "Room 1234567",               // seven digits, no postal context
    ] {
        assert_eq!(one(text), text);
    }
}

#[test]
fn street_addresses_by_their_shape() {
    assert_eq!(
        one("Send it to 1234 Maple Avenue, Apt 4B, please."),
        "Send it to [address], please."
    );
    assert_eq!(
        one("I live at 42 North Oak St. in Springfield"),
        "I live at [address] in Springfield"
    );
    assert_eq!(
        one("住所は東京都世田谷区桜丘3丁目12番5号です"),
        "住所は[address]です"
    );
    assert_eq!(
        one("横浜市中区山下町1-2-3までお願いします"),
        "[address]までお願いします"
    );
    assert_eq!(one("大阪府大阪市北区梅田三丁目一番"), "[address]");
    // Places that are not someone's address.
    for text in [
        "Our Main Street branch opens at 9.",
        "Take Route 66 north, it's in Building 3.",
        "By the way, the 5th Avenue store has 2 left.",
        "品川区の倉庫から2番目の便で届きます",
        "渋谷店は3階です",
        "3丁目の角の店舗です",
    ] {
        assert_eq!(one(text), text);
    }
}

#[test]
fn a_misheard_card_number_goes_when_a_card_was_asked_for() {
    // Recognition dropped three digits: the check digit fails, the question says "card".
    let texts = redacted_texts(
        vec![
            utterance(0, 0.0, "Could I have your card number, please?"),
            utterance(1, 3.0, "Sure, 4111111111111"),
        ],
        &[],
    );
    assert_eq!(texts[1], "Sure, [card number]");
    // Recognition dropped digits of a phone number the customer was asked for.
    let texts = redacted_texts(
        vec![
            utterance(0, 0.0, "And a phone number to call you back?"),
            utterance(1, 3.0, "01234-678"),
        ],
        &[],
    );
    assert_eq!(texts[1], "[phone number]");
}

#[test]
fn dates_of_birth_only_when_said_to_be_one() {
    assert_eq!(
        one("My date of birth is March 3, 1985."),
        "My date of birth is [date of birth]."
    );
    assert_eq!(
        one("生年月日は1985年3月3日です"),
        "生年月日は[date of birth]です"
    );
}

#[test]
fn names_from_the_call_data() {
    let texts = redacted_texts(
        vec![
            utterance(0, 0.0, "This is Tanaka from Acme."),
            utterance(1, 3.0, "Hi, Jane Smith here. Smithson is my boss."),
            utterance(1, 20.0, "鈴木太郎と申します"),
        ],
        &["Tanaka Ichiro", "Jane Smith", "鈴木 太郎"],
    );
    assert_eq!(
        texts,
        [
            "This is [name] from Acme.",
            "Hi, [name] here. Smithson is my boss.",
            "[name]と申します"
        ]
    );
}

#[test]
fn word_timings_follow_the_phrase() {
    let mut u = utterance(1, 0.0, "Card 4111 1111 1111 1111 ok");
    let words = ["Card", "4111", "1111", "1111", "1111", "ok"];
    u.words = words
        .iter()
        .enumerate()
        .map(|(i, w)| Word {
            start: i as f64 * 0.3,
            end: i as f64 * 0.3 + 0.25,
            text: format!(" {w}"),
            probability: Some(0.9),
        })
        .collect();
    let (out, counts) = redact(&transcript(vec![u]), &[]);
    let words: Vec<_> = out.utterances[0]
        .words
        .iter()
        .map(|w| (w.text.as_str(), w.start, w.end))
        .collect();
    assert_eq!(
        words,
        [
            (" Card", 0.0, 0.25),
            (" [card number]", 0.3, 1.45),
            (" ok", 1.5, 1.75)
        ]
    );
    assert_eq!(counts.get(&PiiKind::CardNumber), Some(&1));
    // The placeholder was never heard: no confidence of the model's is kept for it.
    let probabilities: Vec<_> = out.utterances[0]
        .words
        .iter()
        .map(|w| w.probability)
        .collect();
    assert_eq!(probabilities, [Some(0.9), None, Some(0.9)]);
    // The recording is hidden where the placeholder's words were said, and over the
    // speaker's short stretch of speech around them (word timings can be off).
    assert_eq!(redacted_times(&out), [(0.3, 1.45)]);
    let mut heard = out.clone();
    heard.speech[1] = vec![
        crate::metrics::Span {
            start: 0.1,
            end: 2.0,
        },
        crate::metrics::Span {
            start: 5.0,
            end: 30.0,
        },
    ];
    heard.utterances[0].words[1].end = 6.0;
    assert_eq!(redacted_times(&heard), [(0.1, 2.0), (0.3, 6.0)]);

    // Words that cannot be placed in the text go, rather than keep a card number.
    let mut u = utterance(1, 0.0, "Card 4111111111111111");
    u.words = vec![Word {
        start: 0.0,
        end: 1.0,
        text: " 4111-1111-1111-1111".into(),
        probability: Some(0.8),
    }];
    let (out, _) = redact(&transcript(vec![u]), &[]);
    assert!(out.utterances[0].words.is_empty());
    // Without word timings, the whole phrase.
    assert_eq!(redacted_times(&out), [(0.0, 2.0)]);
}

/// A card number with a valid check digit: 15 random digits and the Luhn digit.
fn card() -> impl Strategy<Value = String> {
    proptest::collection::vec(0u32..10, 15).prop_map(|digits| {
        let body: String = digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
        let check = (0..10)
            .find(|c| digits::luhn(&format!("{body}{c}")))
            .unwrap_or(0);
        format!("{body}{check}")
    })
}

const WORDS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const KANA: [&str; 10] = [
    "ゼロ",
    "イチ",
    "ニー",
    "サン",
    "ヨン",
    "ゴー",
    "ロク",
    "ナナ",
    "ハチ",
    "キュウ",
];

proptest! {
    /// However a card number is read out (digits, English words or kana, in groups, over
    /// up to four phrases), no digit of it is left in the redacted text.
    #[test]
    fn a_card_read_out_in_any_form_is_redacted(
        number in card(),
        form in 0usize..3,
        pieces in 1usize..=4,
        lead in "(Sure|はい|OK)",
    ) {
        let said: Vec<String> = number.chars().map(|c| {
            let d = c.to_digit(10).unwrap_or(0) as usize;
            match form {
                0 => c.to_string(),
                1 => WORDS[d].to_string(),
                _ => KANA[d].to_string(),
            }
        }).collect();
        let per = said.len().div_ceil(pieces);
        let sep = if form == 2 { "・" } else { " " };
        let mut utterances = vec![utterance(1, 0.0, &lead)];
        for (i, chunk) in said.chunks(per).enumerate() {
            utterances.push(utterance(1, 2.5 * (i + 1) as f64, &chunk.join(sep)));
        }
        let texts = redacted_texts(utterances, &[]);
        for text in &texts[1..] {
            prop_assert_eq!(text.as_str(), "[card number]");
        }
        prop_assert_eq!(texts[0].as_str(), lead.as_str());
    }

    /// Text with no digits, digit words or names comes back unchanged.
    #[test]
    fn text_without_numbers_is_unchanged(text in "[a-z ,.?]{0,80}") {
        let has_digit_word = text
            .split(|c: char| !c.is_ascii_alphabetic())
            .any(|w| WORDS.contains(&w) || w == "oh" || w == "o");
        prop_assume!(!has_digit_word);
        prop_assert_eq!(one(&text), text);
    }
}

#[test]
fn the_nearest_label_says_what_a_number_is() {
    // A valid My Number and a Luhn-valid 16 digits, labelled as something else.
    assert_eq!(
        one("The tracking number is 1234 5678 9018."),
        "The tracking number is 1234 5678 9018."
    );
    assert_eq!(
        one("注文番号は4111111111111111です"),
        "注文番号は4111111111111111です"
    );
    // An order mentioned before does not hide a card read out after it was asked for.
    let texts = redacted_texts(
        vec![
            utterance(1, 0.0, "It's about order 123456."),
            utterance(0, 3.0, "Could I have the card number?"),
            utterance(1, 6.0, "4111 1111 1111 1112."),
        ],
        &[],
    );
    assert_eq!(texts[2], "[card number].");
    // A delivery date after a date of birth was asked for is not one.
    let texts = redacted_texts(
        vec![
            utterance(0, 0.0, "Can you confirm your date of birth?"),
            utterance(1, 3.0, "April 12, 1985."),
            utterance(0, 6.0, "It should arrive on March 3, 2026."),
        ],
        &[],
    );
    assert_eq!(
        texts[1..],
        ["[date of birth].", "It should arrive on March 3, 2026."]
    );
    assert_eq!(
        one("私、1985年4月12日生まれです。"),
        "私、[date of birth]生まれです。"
    );
}

#[test]
fn shapes_of_numbers() {
    // North American 3-3-4, written or said, without a word about phones.
    assert_eq!(
        one("Try 415-555-0123 after six."),
        "Try [phone number] after six."
    );
    assert_eq!(
        one("So that's eight five seven, seven double two, eight five nine five, correct?"),
        "So that's [phone number], correct?"
    );
    // A card's 4-4-4-4 with one digit misheard (Luhn fails).
    assert_eq!(one("It's 4111-1111-1111-1112."), "It's [card number].");
    // Twelve digits after a plus are an international number, not a My Number.
    assert_eq!(
        one("My wife's on +123456789018."),
        "My wife's on [phone number]."
    );
    assert_eq!(
        one("はい、プラス44 20 7946 0958です。"),
        "はい、[phone number]です。"
    );
}

#[test]
fn numbers_said_one_after_another_are_found_apart() {
    let texts = redacted_texts(
        vec![
            utterance(1, 0.0, "It's 4111-1111-1111-1111."),
            utterance(0, 2.2, "Which postcode is that?"),
            utterance(1, 4.5, "one six one, four seven seven six, in Tokyo."),
        ],
        &[],
    );
    assert_eq!(texts[0], "It's [card number].");
    assert_eq!(texts[2], "[postal code], in Tokyo.");
}

#[test]
fn japanese_particles_and_spoken_forms() {
    // 「に」 after a number is a particle, not a 2.
    assert_eq!(
        one("折り返しは070 3430 2404にお願いします。"),
        "折り返しは[phone number]にお願いします。"
    );
    assert_eq!(
        one("携帯はゼロキュウゼロ イチニサンヨン ゴーロクナナハチにお願いします。"),
        "携帯は[phone number]にお願いします。"
    );
    assert_eq!(
        one("k ドット suzuki アットマーク yahoo ドット co ドット jpです。"),
        "[e-mail]です。"
    );
    // "double" belongs to the digits it doubles: nothing of the number is left.
    assert_eq!(
        one("It's double four one six, one five zero nine, nine two nine six, nine zero nine oh."),
        "It's [card number]."
    );
}

#[test]
fn japanese_names_written_without_a_space() {
    let texts = redacted_texts(
        vec![
            utterance(1, 0.0, "あ、中村愛です。"),
            utterance(0, 2.0, "中村様ですね。"),
        ],
        &["中村愛", "山田 太郎"],
    );
    assert_eq!(texts, ["あ、[name]です。", "[name]様ですね。"]);
    let names = names_to_find(["山田 太郎"]);
    assert!(names.contains(&"山田太郎".to_string()));
}
