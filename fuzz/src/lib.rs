//! What the fuzz targets share: the fuzzer's bytes read as choices (structure-aware
//! mutations of a valid input), and the JSON values a mutated field takes.

use serde_json::{json, Map, Value};

/// The fuzzer's bytes, read front to back as a sequence of choices; all zeros once used up,
/// so every input means something and small inputs mean the first choices.
pub struct Choices<'a>(&'a [u8]);

impl<'a> Choices<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self(data)
    }

    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.u32() as usize % n
        }
    }

    /// Up to `max` of the remaining bytes, as (lossy) text.
    pub fn text(&mut self, max: usize) -> String {
        let len = self.below(max + 1).min(self.0.len());
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// Numbers at the edges: where length checks, casts and date arithmetic break.
pub const EDGE_NUMBERS: &[i64] = &[
    0,
    -1,
    1,
    255,
    256,
    65_535,
    65_536,
    i32::MAX as i64,
    i32::MIN as i64,
    u32::MAX as i64,
    i64::MAX,
    i64::MIN,
];

/// A JSON value for a mutated field: wrong types, edge numbers, empty, huge, odd text.
pub fn any_value(c: &mut Choices<'_>) -> Value {
    match c.byte() % 14 {
        0 => Value::Null,
        1 => Value::Bool(c.byte() & 1 == 1),
        2 => json!(EDGE_NUMBERS[c.below(EDGE_NUMBERS.len())]),
        3 => json!(f64::from(c.u32()) / 7.0),
        4 => json!(""),
        5 => json!(" ".repeat(c.below(600))),
        6 => json!("x".repeat(c.below(70_000))),
        7 => json!(c.text(64)),
        8 => json!([c.text(16), c.text(16)]),
        9 => json!({ c.text(8): c.text(8) }),
        10 => json!("2023-11-28T07:29:34+09:00"),
        11 => Value::Array(vec![json!("x"); 200]),
        12 => json!("\u{0}\u{202e}\u{fffd}\u{1F600}"),
        _ => json!(c.u32()),
    }
}

/// One change to an object: a field set to any value, removed, or a stranger added.
pub fn mutate_object(object: &mut Map<String, Value>, c: &mut Choices<'_>) {
    let keys: Vec<String> = object.keys().cloned().collect();
    match c.byte() % 4 {
        0 if !keys.is_empty() => {
            object.remove(&keys[c.below(keys.len())]);
        }
        1 => {
            object.insert(c.text(12), any_value(c));
        }
        _ if !keys.is_empty() => {
            let key = keys[c.below(keys.len())].clone();
            object.insert(key, any_value(c));
        }
        _ => {}
    }
}
