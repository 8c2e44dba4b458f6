//! Bit-level writer and reader used by the delta payload.
//!
//! Values are written most-significant bit first. Small integers use
//! exponential-Golomb codes of order `k` ([`BitWriter::write_golomb`]): a value
//! `v` costs `2 * floor(log2((v >> k) + 1)) + 1 + k` bits, so 0 costs `k + 1` bits.
//! Signed values are zigzag-mapped first (0, -1, 1, -2, ... → 0, 1, 2, 3, ...).

use thiserror::Error;

/// Longest exp-Golomb prefix accepted by the reader. Every value below 2^63
/// fits; anything longer is not a value this protocol writes, and is rejected.
const MAX_GOLOMB_PREFIX: u32 = 63;

/// A bit stream that ended early or held a value no encoder writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BitError {
    /// The stream ended before the value was complete.
    #[error("bit stream ended early")]
    UnexpectedEnd,
    /// An exp-Golomb code had an impossible prefix or overflowed 64 bits.
    #[error("malformed variable-length integer")]
    BadVarint,
}

/// Appends bits to a reusable byte buffer.
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Pending bits not yet flushed to `bytes`, aligned to the low end.
    acc: u64,
    /// Number of valid bits in `acc` (always < 8 between calls).
    acc_bits: u32,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the writer, keeping its allocation.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.acc = 0;
        self.acc_bits = 0;
    }

    /// Writes the low `count` bits of `value` (`count` ≤ 32).
    pub fn write_bits(&mut self, value: u32, count: u32) {
        debug_assert!(count <= 32);
        if count == 0 {
            return;
        }
        let masked = u64::from(value) & ((1u64 << count) - 1);
        self.acc = (self.acc << count) | masked;
        self.acc_bits += count;
        while self.acc_bits >= 8 {
            self.acc_bits -= 8;
            self.bytes.push((self.acc >> self.acc_bits) as u8);
        }
        self.acc &= (1u64 << self.acc_bits) - 1;
    }

    /// Writes one bit.
    pub fn write_bool(&mut self, bit: bool) {
        self.write_bits(u32::from(bit), 1);
    }

    /// Writes `value` as an exp-Golomb code of order `k` (`k` ≤ 16).
    pub fn write_golomb(&mut self, value: u64, k: u32) {
        let high = (value >> k) + 1;
        let len = 64 - high.leading_zeros(); // bits in `high`, ≥ 1
        self.write_wide(0, len - 1);
        self.write_wide(high, len);
        self.write_wide(value & ((1u64 << k) - 1), k);
    }

    /// Writes a signed value zigzag-mapped, as an exp-Golomb code of order `k`.
    pub fn write_signed(&mut self, value: i64, k: u32) {
        self.write_golomb(zigzag(value), k);
    }

    /// Writes the bytes whole (not necessarily byte-aligned).
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_bits(u32::from(b), 8);
        }
    }

    fn write_wide(&mut self, value: u64, count: u32) {
        if count > 32 {
            self.write_bits((value >> 32) as u32, count - 32);
            self.write_bits(value as u32, 32);
        } else {
            self.write_bits(value as u32, count);
        }
    }

    /// Pads to a byte boundary with zero bits and returns the bytes written.
    pub fn finish(&mut self) -> &[u8] {
        if self.acc_bits > 0 {
            let pad = 8 - self.acc_bits;
            self.write_bits(0, pad);
        }
        &self.bytes
    }

    /// Bits written so far.
    pub fn bit_len(&self) -> usize {
        self.bytes.len() * 8 + self.acc_bits as usize
    }
}

/// Reads bits from a byte slice; every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Next bit to read, counted from the start of `bytes`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader over `bytes`, starting at the first bit.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bits not yet read (padding included).
    pub fn remaining_bits(&self) -> usize {
        self.bytes.len() * 8 - self.pos
    }

    /// Reads `count` bits (`count` ≤ 32) as an unsigned value.
    pub fn read_bits(&mut self, count: u32) -> Result<u32, BitError> {
        debug_assert!(count <= 32);
        if self.remaining_bits() < count as usize {
            return Err(BitError::UnexpectedEnd);
        }
        let mut value: u32 = 0;
        let mut left = count;
        while left > 0 {
            let byte = self.bytes[self.pos / 8];
            let offset = (self.pos % 8) as u32;
            let take = left.min(8 - offset);
            let bits = (u32::from(byte) >> (8 - offset - take)) & ((1 << take) - 1);
            value = (value << take) | bits;
            self.pos += take as usize;
            left -= take;
        }
        Ok(value)
    }

    /// Reads one bit.
    pub fn read_bool(&mut self) -> Result<bool, BitError> {
        Ok(self.read_bits(1)? == 1)
    }

    /// Reads an exp-Golomb code of order `k`.
    pub fn read_golomb(&mut self, k: u32) -> Result<u64, BitError> {
        let mut zeros = 0;
        while !self.read_bool()? {
            zeros += 1;
            if zeros > MAX_GOLOMB_PREFIX {
                return Err(BitError::BadVarint);
            }
        }
        let rest = self.read_wide(zeros)?;
        let high = (1u64 << zeros) | rest;
        let low = self.read_wide(k)?;
        (high - 1)
            .checked_shl(k)
            .filter(|v| v >> k == high - 1)
            .map(|v| v | low)
            .ok_or(BitError::BadVarint)
    }

    /// Reads a zigzag-mapped signed exp-Golomb code of order `k`.
    pub fn read_signed(&mut self, k: u32) -> Result<i64, BitError> {
        Ok(unzigzag(self.read_golomb(k)?))
    }

    /// Reads `len` whole bytes into a new vector.
    pub fn read_bytes(&mut self, len: usize) -> Result<Vec<u8>, BitError> {
        if self.remaining_bits() < len * 8 {
            return Err(BitError::UnexpectedEnd);
        }
        (0..len)
            .map(|_| self.read_bits(8).map(|b| b as u8))
            .collect()
    }

    fn read_wide(&mut self, count: u32) -> Result<u64, BitError> {
        if count > 32 {
            let high = u64::from(self.read_bits(count - 32)?);
            Ok((high << 32) | u64::from(self.read_bits(32)?))
        } else {
            Ok(u64::from(self.read_bits(count)?))
        }
    }
}

/// Maps signed to unsigned so that small magnitudes stay small.
pub fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_mixed_fields() {
        let mut w = BitWriter::new();
        w.write_bits(0b101, 3);
        w.write_golomb(0, 0);
        w.write_golomb(1_000_000, 3);
        w.write_signed(-5, 1);
        w.write_signed(i64::from(i32::MIN), 4);
        w.write_bytes(b"hi");
        w.write_golomb(u64::from(u32::MAX), 0);
        let bytes = w.finish().to_vec();
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bits(3), Ok(0b101));
        assert_eq!(r.read_golomb(0), Ok(0));
        assert_eq!(r.read_golomb(3), Ok(1_000_000));
        assert_eq!(r.read_signed(1), Ok(-5));
        assert_eq!(r.read_signed(4), Ok(i64::from(i32::MIN)));
        assert_eq!(r.read_bytes(2), Ok(b"hi".to_vec()));
        assert_eq!(r.read_golomb(0), Ok(u64::from(u32::MAX)));
        assert!(r.remaining_bits() < 8);
    }

    #[test]
    fn small_values_are_short() {
        let mut w = BitWriter::new();
        w.write_golomb(0, 0);
        assert_eq!(w.bit_len(), 1);
        w.write_signed(1, 0); // zigzag 2 → 3 bits
        assert_eq!(w.bit_len(), 4);
    }

    #[test]
    fn truncated_and_garbage_input_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_bits(9), Err(BitError::UnexpectedEnd));
        let zeros = [0u8; 16];
        assert_eq!(
            BitReader::new(&zeros).read_golomb(0),
            Err(BitError::BadVarint)
        );
        assert_eq!(
            BitReader::new(&[0, 0]).read_golomb(0),
            Err(BitError::UnexpectedEnd)
        );
    }

    #[test]
    fn zigzag_is_a_bijection_on_edges() {
        for v in [0, 1, -1, 2, -2, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
