//! Numbers of each kind with their usual grouping: valid card numbers (Luhn), My Numbers
//! (check digit), Japanese and foreign phone numbers, postal codes, and the look-alikes a
//! call is full of (order and tracking numbers, member numbers, product barcodes).

use crate::rng::Rng;
use crate::speak::{grouped, Groups};

fn luhn_digit(body: &str) -> char {
    // The check digit makes the sum over body + check ≡ 0 (mod 10).
    let mut sum = 0;
    for (i, c) in body.chars().rev().enumerate() {
        let mut d = c.to_digit(10).unwrap_or(0);
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// A card number that passes Luhn: Visa, Mastercard, JCB (16 digits, 4-4-4-4) or
/// American Express (15, 4-6-5).
pub fn card(rng: &Rng) -> Groups {
    let (prefix, len) = rng.pick(&[
        ("4", 16),
        ("4", 16),
        ("51", 16),
        ("55", 16),
        ("35", 16),
        ("37", 15),
    ]);
    let mut body = prefix.to_string();
    body.push_str(&rng.digits(len - 1 - prefix.len()));
    body.push(luhn_digit(&body));
    let sizes: &[usize] = if len == 15 { &[4, 6, 5] } else { &[4, 4, 4, 4] };
    grouped(&body, sizes)
}

/// A My Number: eleven digits and the check digit of the published rule, 4-4-4.
pub fn my_number(rng: &Rng) -> Groups {
    let body = rng.digits(11);
    let d: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = (1..=11)
        .map(|n| d[11 - n] * if n <= 6 { n as u32 + 1 } else { n as u32 - 5 })
        .sum();
    let check = if sum % 11 <= 1 { 0 } else { 11 - sum % 11 };
    grouped(&format!("{body}{check}"), &[4, 4, 4])
}

/// A Japanese phone number as written: mobile 0X0-XXXX-XXXX, Tokyo/Osaka 0X-XXXX-XXXX,
/// other areas 0XXX-XX-XXXX, toll-free 0120-XXX-XXX.
pub fn japanese_phone(rng: &Rng) -> Groups {
    match rng.below(5) {
        0 | 1 => vec![
            rng.pick(&["090", "080", "070"]).to_string(),
            rng.digits(4),
            rng.digits(4),
        ],
        2 => vec![
            rng.pick(&["03", "06"]).to_string(),
            rng.digits(4),
            rng.digits(4),
        ],
        3 => vec![
            format!("0{}", rng.range(100, 999)),
            rng.digits(2),
            rng.digits(4),
        ],
        _ => vec!["0120".to_string(), rng.digits(3), rng.digits(3)],
    }
}

/// An international number: the country code, then the national number without its 0.
pub fn international_phone(rng: &Rng) -> Groups {
    match rng.below(3) {
        0 => vec![
            "81".into(),
            rng.pick(&["90", "80", "3"]).to_string(),
            rng.digits(4),
            rng.digits(4),
        ],
        1 => vec![
            "1".into(),
            format!("{}", rng.range(201, 989)),
            format!("{}", rng.range(200, 999)),
            rng.digits(4),
        ],
        _ => vec!["44".into(), "20".into(), rng.digits(4), rng.digits(4)],
    }
}

/// A North American number as said in the country: area code, exchange, line.
pub fn us_phone(rng: &Rng) -> Groups {
    vec![
        format!("{}", rng.range(201, 989)),
        format!("{}", rng.range(200, 999)),
        rng.digits(4),
    ]
}

pub fn postal_code(rng: &Rng) -> Groups {
    vec![format!("{}", rng.range(100, 999)), rng.digits(4)]
}

/// Look-alikes, not personal data.
pub fn order_number(rng: &Rng) -> Groups {
    match rng.below(3) {
        0 => vec![rng.digits(3), rng.digits(7), rng.digits(7)], // a web shop's 3-7-7
        1 => vec![
            format!("{}", rng.range(2023, 2026)),
            rng.digits(4),
            rng.digits(4),
        ],
        _ => vec![rng.digits(6)],
    }
}

/// A parcel's tracking number: 12 digits, 4-4-4.
pub fn tracking_number(rng: &Rng) -> Groups {
    grouped(&rng.digits(12), &[4, 4, 4])
}

/// A member or customer number with leading zeros, as shop systems print them.
pub fn member_number(rng: &Rng) -> Groups {
    let n = rng.range(8, 10);
    vec![format!("00{}", rng.digits(n - 2))]
}

/// A product barcode (JAN/EAN-13, Japanese prefix 45/49) with its own check digit.
pub fn barcode(rng: &Rng) -> Groups {
    let mut body = rng.pick(&["45", "49"]).to_string();
    body.push_str(&rng.digits(10));
    let sum: u32 = body
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap_or(0) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    body.push(char::from(b'0' + ((10 - sum % 10) % 10) as u8));
    vec![body]
}

/// The number as a recogniser may write it down: one time in ten with one digit wrong
/// (the check digit then fails; it is still the caller's number to hide).
pub fn misheard(rng: &Rng, mut groups: Groups) -> Groups {
    if rng.chance(0.1) {
        let g = rng.below(groups.len());
        let mut digits: Vec<char> = groups[g].chars().collect();
        let i = rng.below(digits.len());
        let old = digits[i].to_digit(10).unwrap_or(0);
        digits[i] = char::from(b'0' + ((old + 1 + rng.below(9) as u32) % 10) as u8);
        groups[g] = digits.into_iter().collect();
    }
    groups
}
