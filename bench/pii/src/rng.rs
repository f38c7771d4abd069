//! A small seeded generator (SplitMix64): the same seed gives the same calls on every
//! machine and every version, which a library's generator does not promise.

pub struct Rng(std::cell::Cell<u64>);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(std::cell::Cell::new(seed))
    }

    pub fn next(&self) -> u64 {
        // Shared, not `&mut`: scenes draw several values in one expression.
        let mut z = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0 ≤ n < `below`.
    pub fn below(&self, below: usize) -> usize {
        (self.next() % below.max(1) as u64) as usize
    }

    pub fn range(&self, from: usize, to_inclusive: usize) -> usize {
        from + self.below(to_inclusive - from + 1)
    }

    pub fn unit(&self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<T: Copy>(&self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    pub fn digits(&self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    pub fn shuffle<T>(&self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
