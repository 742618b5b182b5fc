//! Python's `random.Random`, bit for bit: the Mersenne Twister and the `shuffle`, `sample` and
//! `randint` algorithms of CPython 3.11.
//!
//! DSPy's few-shot optimizers draw from fixed seeds (`random.Random(0).sample(trainset, k)`,
//! `random.Random(seed).shuffle(trainset)`), so using the same generator and the same
//! algorithms makes hone pick the same demos, in the same order, as DSPy does for the same
//! trainset. A [`PyRandom`] is always created fresh from a seed where DSPy creates one, so it
//! never needs to be saved in a checkpoint.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// CPython's `random.Random` (MT19937) seeded with an integer.
#[derive(Clone)]
pub struct PyRandom {
    mt: Box<[u32; N]>,
    index: usize,
}

impl std::fmt::Debug for PyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyRandom")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl PyRandom {
    /// `random.Random(seed)`. Python seeds with the absolute value of an integer, split into
    /// 32-bit words; negative seeds behave like their absolute value.
    pub fn new(seed: i64) -> Self {
        let magnitude = seed.unsigned_abs();
        let mut key = vec![magnitude as u32];
        if magnitude >> 32 != 0 {
            key.push((magnitude >> 32) as u32);
        }
        let mut rng = PyRandom {
            mt: Box::new([0; N]),
            index: N,
        };
        rng.init_by_array(&key);
        rng
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        let len = key.len();
        for _ in 0..N.max(len) {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= len {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
        }
        self.mt[0] = 0x8000_0000;
    }

    fn generate(&mut self) {
        let mag = |y: u32| if y & 1 == 0 { 0 } else { MATRIX_A };
        for k in 0..N {
            let y = (self.mt[k] & UPPER_MASK) | (self.mt[(k + 1) % N] & LOWER_MASK);
            self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag(y);
        }
        self.index = 0;
    }

    /// The next 32 random bits (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.generate();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k <= 32`.
    fn getrandbits(&mut self, k: u32) -> u32 {
        if k == 0 {
            return 0;
        }
        self.next_u32() >> (32 - k.min(32))
    }

    /// `_randbelow(n)`: a uniform integer in `0..n` by rejection sampling; 0 for `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let k = usize::BITS - n.leading_zeros();
        if k > 32 {
            // Python would draw more words; no dataset is this large.
            let hi = self.next_u32() as u64;
            let lo = self.next_u32() as u64;
            return (((hi << 32) | lo) % n as u64) as usize;
        }
        loop {
            let r = self.getrandbits(k) as usize;
            if r < n {
                return r;
            }
        }
    }

    /// `randint(a, b)`: a uniform integer in `a..=b` (`a` when `b < a`).
    pub fn randint(&mut self, a: i64, b: i64) -> i64 {
        if b < a {
            return a;
        }
        a + self.below((b - a + 1) as usize) as i64
    }

    /// `shuffle(x)`, in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// The indices `sample(range(n), k)` picks, in order (`k` is capped at `n`).
    pub fn sample_indices(&mut self, n: usize, k: usize) -> Vec<usize> {
        let k = k.min(n);
        let mut setsize = 21usize;
        if k > 5 {
            // 4 ** ceil(log(3k, 4)), as CPython computes it in floating point.
            let exponent = ((k as f64 * 3.0).ln() / 4f64.ln()).ceil();
            setsize += 4f64.powf(exponent) as usize;
        }
        let mut result = Vec::with_capacity(k);
        if n <= setsize {
            let mut pool: Vec<usize> = (0..n).collect();
            for i in 0..k {
                let j = self.below(n - i);
                result.push(pool[j]);
                pool[j] = pool[n - i - 1];
            }
        } else {
            let mut selected = std::collections::BTreeSet::new();
            for _ in 0..k {
                let mut j = self.below(n);
                while selected.contains(&j) {
                    j = self.below(n);
                }
                selected.insert(j);
                result.push(j);
            }
        }
        result
    }

    /// `sample(items, k)`: `k` items without replacement, in the order Python picks them.
    pub fn sample<T: Clone>(&mut self, items: &[T], k: usize) -> Vec<T> {
        self.sample_indices(items.len(), k)
            .into_iter()
            .map(|i| items[i].clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by CPython 3.11's `random` module.
    #[test]
    fn matches_cpython() {
        let mut r = PyRandom::new(7);
        let bits: Vec<u32> = (0..3).map(|_| r.next_u32()).collect();
        assert_eq!(bits, [1_390_851_128, 4_071_050_724, 647_892_279]);
        assert_eq!(PyRandom::new((1 << 40) + 5).next_u32(), 2_166_296_868);

        let mut items: Vec<usize> = (0..20).collect();
        PyRandom::new(0).shuffle(&mut items);
        assert_eq!(
            items,
            [
                10, 18, 16, 14, 0, 17, 11, 2, 3, 9, 5, 7, 4, 19, 6, 15, 8, 1, 13, 12
            ]
        );
        assert_eq!(PyRandom::new(0).sample_indices(20, 5), [12, 13, 1, 8, 15]);
        assert_eq!(
            PyRandom::new(0).sample_indices(100, 16),
            [
                49, 97, 53, 5, 33, 65, 62, 51, 38, 61, 45, 74, 27, 64, 17, 36
            ]
        );
        let sizes: Vec<i64> = (0..10).map(|s| PyRandom::new(s).randint(1, 4)).collect();
        assert_eq!(sizes, [4, 2, 1, 2, 2, 3, 1, 3, 2, 4]);
    }
}
