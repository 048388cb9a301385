//! Montgomery arithmetic for the RSA *public* operation `s^e mod n` (signature
//! verification: every input is public, so nothing here needs to be constant-time).
//!
//! The `rsa` crate's `modpow` (num-bigint-dig, fixed 4-bit windows with a naive
//! Montgomery step) spends about 1.2 ms on one RSA-4096 verification; this CIOS
//! implementation over 64-bit limbs does the 17 squarings and 2 multiplications of
//! e = 65537 in a fraction of that, which is what makes a DigiCert token (three RSA-4096
//! verifications) cheap.

use rsa::BigUint;

/// An odd modulus with its Montgomery constants, limbs little-endian.
#[derive(Clone, Debug)]
pub(crate) struct Modulus {
    limbs: Vec<u64>,
    /// `-n^-1 mod 2^64`.
    n0_inverse: u64,
    /// `R^2 mod n` with `R = 2^(64 * limbs)`.
    r_squared: Vec<u64>,
    /// The modulus length in bytes.
    size: usize,
}

/// Big-endian bytes to `count` little-endian limbs (the value must fit).
fn to_limbs(bytes: &[u8], count: usize) -> Vec<u64> {
    let mut limbs: Vec<u64> = bytes
        .rchunks(8)
        .map(|chunk| chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
        .collect();
    limbs.resize(count, 0);
    limbs
}

impl Modulus {
    /// The constants for `n` (big-endian); `None` if `n` is even or zero.
    pub(crate) fn new(n: &BigUint) -> Option<Self> {
        let bytes = n.to_bytes_be();
        let count = bytes.len().div_ceil(8);
        let limbs = to_limbs(&bytes, count);
        let n0 = *limbs.first()?;
        if n0 & 1 == 0 {
            return None;
        }
        // Newton's iteration: each step doubles the correct low bits (3 → 96).
        let mut inverse = n0;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inverse)));
        }
        let r_squared = (BigUint::from(1u8) << (128 * count)) % n;
        Some(Self {
            r_squared: to_limbs(&r_squared.to_bytes_be(), count),
            limbs,
            n0_inverse: inverse.wrapping_neg(),
            size: bytes.len(),
        })
    }

    /// `a * b * R^-1 mod n` for inputs below `n` (separated operand scanning: the full
    /// product, then one limb of Montgomery reduction per step, without moving limbs).
    fn multiply(&self, a: &[u64], b: &[u64]) -> Vec<u64> {
        let count = self.limbs.len();
        let mut t = vec![0u64; 2 * count + 1];
        for (i, &b_i) in b.iter().enumerate() {
            if let Some(window) = t.get_mut(i..) {
                add_product(window, a, b_i);
            }
        }
        for i in 0..count {
            let m = t.get(i).copied().unwrap_or(0).wrapping_mul(self.n0_inverse);
            if let Some(window) = t.get_mut(i..) {
                add_product(window, &self.limbs, m);
            }
        }
        let mut result = t.split_off(count);
        if !is_below(&result, &self.limbs) {
            subtract(&mut result, &self.limbs);
        }
        result.truncate(count);
        result
    }

    /// `base^exponent mod n` as big-endian bytes of the modulus length; `None` if
    /// `base >= n` (as bytes longer than the modulus or numerically).
    pub(crate) fn power(&self, base: &[u8], exponent: &[u8]) -> Option<Vec<u8>> {
        let count = self.limbs.len();
        if base.len() > count * 8 {
            return None;
        }
        let base = to_limbs(base, count);
        if !is_below(&base, &self.limbs) {
            return None;
        }
        let x = self.multiply(&base, &self.r_squared);
        let mut one = vec![0u64; count];
        if let Some(first) = one.first_mut() {
            *first = 1;
        }
        // Left to right from the exponent's top set bit; `acc` starts as 1 (Montgomery form R).
        let mut acc: Option<Vec<u64>> = None;
        for byte in exponent {
            for bit in (0..8).rev() {
                acc = acc.map(|a| self.multiply(&a, &a));
                if byte >> bit & 1 == 1 {
                    acc = Some(match acc {
                        Some(a) => self.multiply(&a, &x),
                        None => x.clone(),
                    });
                }
            }
        }
        let acc = acc.unwrap_or_else(|| self.multiply(&one, &self.r_squared));
        let plain = self.multiply(&acc, &one);
        let bytes: Vec<u8> = plain
            .iter()
            .rev()
            .flat_map(|limb| limb.to_be_bytes())
            .collect();
        bytes
            .get(bytes.len().saturating_sub(self.size)..)
            .map(<[u8]>::to_vec)
    }
}

/// `t += a * factor`, carrying through all of `t` (which is at least as long as `a`;
/// the sum fits by construction).
fn add_product(t: &mut [u64], a: &[u64], factor: u64) {
    let mut carry: u128 = 0;
    let mut limbs = t.iter_mut();
    // `a` first: zip polls its first iterator first, so no limb of `t` is skipped.
    for (a_j, t_j) in a.iter().zip(limbs.by_ref()) {
        let value = u128::from(*t_j) + u128::from(*a_j) * u128::from(factor) + carry;
        *t_j = value as u64;
        carry = value >> 64;
    }
    for t_j in limbs {
        let value = u128::from(*t_j) + carry;
        *t_j = value as u64;
        carry = value >> 64;
    }
}

/// Whether `a` (possibly one limb longer) is below `n`.
fn is_below(a: &[u64], n: &[u64]) -> bool {
    if a.iter().skip(n.len()).any(|limb| *limb != 0) {
        return false;
    }
    for (a_j, n_j) in a.iter().take(n.len()).rev().zip(n.iter().rev()) {
        if a_j != n_j {
            return a_j < n_j;
        }
    }
    false
}

/// `a -= n` (requires `a >= n`).
fn subtract(a: &mut [u64], n: &[u64]) {
    let mut borrow = false;
    let mut limbs = a.iter_mut();
    for (n_j, a_j) in n.iter().zip(limbs.by_ref()) {
        let (d1, b1) = a_j.overflowing_sub(*n_j);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *a_j = d2;
        borrow = b1 || b2;
    }
    for a_j in limbs {
        let (d, b) = a_j.overflowing_sub(u64::from(borrow));
        *a_j = d;
        borrow = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_biguint_modpow() {
        let n = BigUint::parse_bytes(
            b"c7f1a3b5d9e2f40617283940abcdef1234567890fedcba0987654321aabbccddeeff0011223344556677",
            16,
        )
        .expect("n");
        let modulus = Modulus::new(&n).expect("odd modulus");
        for (base, exponent) in [
            (2u32, 65537u32),
            (12345, 3),
            (1, 17),
            (0, 5),
            (987654321, 1),
        ] {
            let expected = BigUint::from(base)
                .modpow(&BigUint::from(exponent), &n)
                .to_bytes_be();
            let got = modulus
                .power(&BigUint::from(base).to_bytes_be(), &exponent.to_be_bytes())
                .expect("power");
            let trimmed: Vec<u8> = got.iter().copied().skip_while(|b| *b == 0).collect();
            assert_eq!(
                trimmed,
                expected
                    .iter()
                    .copied()
                    .skip_while(|b| *b == 0)
                    .collect::<Vec<u8>>(),
                "{base}^{exponent}"
            );
        }
        assert!(modulus.power(&n.to_bytes_be(), &[3]).is_none());
        assert!(Modulus::new(&BigUint::from(10u8)).is_none());
    }
}
