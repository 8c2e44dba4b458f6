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
/// Bits a [`BitReader`] peek always holds when that many remain: a 64-bit
/// load from a byte boundary, less up to 7 bits already read from that byte.
const PEEK_BITS: u32 = 57;

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
    /// Number of valid bits in `acc` (always < 32 between calls: whole
    /// 32-bit words go to `bytes` as soon as they are complete).
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
    #[inline]
    pub fn write_bits(&mut self, value: u32, count: u32) {
        debug_assert!(count <= 32);
        if count == 0 {
            return;
        }
        let masked = u64::from(value) & ((1u64 << count) - 1);
        // acc_bits < 32 and count ≤ 32: the shifted accumulator fits in 64 bits.
        self.acc = (self.acc << count) | masked;
        self.acc_bits += count;
        if self.acc_bits >= 32 {
            self.acc_bits -= 32;
            let word = (self.acc >> self.acc_bits) as u32;
            self.bytes.extend_from_slice(&word.to_be_bytes());
            self.acc &= (1u64 << self.acc_bits) - 1;
        }
    }

    /// Writes one bit.
    pub fn write_bool(&mut self, bit: bool) {
        self.write_bits(u32::from(bit), 1);
    }

    /// Writes `value` as an exp-Golomb code of order `k` (`k` ≤ 16).
    pub fn write_golomb(&mut self, value: u64, k: u32) {
        let high = (value >> k) + 1;
        let len = 64 - high.leading_zeros(); // bits in `high`, ≥ 1
        let total = 2 * len - 1 + k;
        if total <= 32 {
            // The usual case, in one write: `len − 1` zeros (implied by the
            // width), then `high`, then the low `k` bits of the value.
            let code = (high << k) | (value & ((1u64 << k) - 1));
            self.write_bits(code as u32, total);
            return;
        }
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
        while self.acc_bits >= 8 {
            self.acc_bits -= 8;
            self.bytes.push((self.acc >> self.acc_bits) as u8);
        }
        if self.acc_bits > 0 {
            self.bytes.push((self.acc << (8 - self.acc_bits)) as u8);
        }
        self.acc = 0;
        self.acc_bits = 0;
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
    #[inline]
    pub fn read_bits(&mut self, count: u32) -> Result<u32, BitError> {
        debug_assert!(count <= 32);
        if self.remaining_bits() < count as usize {
            return Err(BitError::UnexpectedEnd);
        }
        if count == 0 {
            return Ok(0);
        }
        let value = (self.peek() >> (64 - count)) as u32;
        self.pos += count as usize;
        Ok(value)
    }

    /// The next bits, first bit in the most significant place: at least
    /// [`PEEK_BITS`] of them, as many as remain if fewer (then zeros follow).
    #[inline]
    fn peek(&self) -> u64 {
        let rest = self.bytes.get(self.pos / 8..).unwrap_or(&[]);
        let word = match rest.first_chunk::<8>() {
            Some(word) => *word,
            None => {
                let mut word = [0u8; 8];
                word[..rest.len()].copy_from_slice(rest);
                word
            }
        };
        u64::from_be_bytes(word) << (self.pos % 8)
    }

    /// Reads one bit.
    pub fn read_bool(&mut self) -> Result<bool, BitError> {
        Ok(self.read_bits(1)? == 1)
    }

    /// Reads an exp-Golomb code of order `k`.
    pub fn read_golomb(&mut self, k: u32) -> Result<u64, BitError> {
        // The prefix's end, when it is among the next bits (zeros pad the
        // peek, so a one bit there is real); else one bit at a time.
        let zeros = self.peek().leading_zeros();
        let zeros = if zeros < PEEK_BITS {
            self.pos += zeros as usize + 1;
            zeros
        } else {
            let mut zeros = 0;
            while !self.read_bool()? {
                zeros += 1;
                if zeros > MAX_GOLOMB_PREFIX {
                    return Err(BitError::BadVarint);
                }
            }
            zeros
        };
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

    /// The format by definition: every bit appended one at a time, MSB first.
    #[derive(Default)]
    struct BitByBit(Vec<bool>);

    impl BitByBit {
        fn bits(&mut self, value: u64, count: u32) {
            for i in (0..count).rev() {
                self.0.push(value >> i & 1 == 1);
            }
        }
        fn golomb(&mut self, value: u64, k: u32) {
            let high = (value >> k) + 1;
            let len = 64 - high.leading_zeros();
            self.bits(0, len - 1);
            self.bits(high, len);
            self.bits(value & ((1u64 << k) - 1), k);
        }
        fn bytes(&self) -> Vec<u8> {
            self.0
                .chunks(8)
                .map(|c| {
                    c.iter()
                        .enumerate()
                        .fold(0u8, |b, (i, &bit)| b | u8::from(bit) << (7 - i))
                })
                .collect()
        }
    }

    #[test]
    fn the_word_wise_writer_writes_exactly_the_bits_of_the_format() {
        // A small xorshift: deterministic, no dependency.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let (mut w, mut reference) = (BitWriter::new(), BitByBit::default());
            for _ in 0..(next() % 60) {
                let r = next();
                match r % 3 {
                    0 => {
                        let count = (r >> 8) as u32 % 33;
                        let value = (r >> 16) as u32;
                        w.write_bits(value, count);
                        reference.bits(u64::from(value) & ((1u64 << count) - 1), count);
                    }
                    1 => {
                        let k = (r >> 8) as u32 % 13;
                        // Mostly small values, sometimes up to 63 bits wide.
                        let value = (r >> 16) >> (next() % 64);
                        w.write_golomb(value, k);
                        reference.golomb(value, k);
                    }
                    _ => {
                        let byte = (r >> 8) as u8;
                        w.write_bytes(&[byte]);
                        reference.bits(u64::from(byte), 8);
                    }
                }
                assert_eq!(w.bit_len(), reference.0.len());
            }
            assert_eq!(w.finish(), reference.bytes().as_slice());
        }
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

    /// The bit-at-a-time reader the fast paths must agree with.
    fn slow_bits(bytes: &[u8], pos: usize, count: u32) -> Option<u64> {
        (pos + count as usize <= bytes.len() * 8).then(|| {
            (pos..pos + count as usize).fold(0u64, |v, i| {
                (v << 1) | u64::from(bytes[i / 8] >> (7 - i % 8) & 1)
            })
        })
    }

    #[test]
    fn reads_agree_with_a_bit_at_a_time_reader_at_every_offset() {
        let bytes: Vec<u8> = (0..19u32).map(|i| (i * 151 + 7) as u8).collect();
        for start in 0..bytes.len() * 8 {
            for count in 0..=32 {
                let mut r = BitReader::new(&bytes);
                r.pos = start;
                match slow_bits(&bytes, start, count) {
                    Some(v) => {
                        assert_eq!(r.read_bits(count), Ok(v as u32), "{start}+{count}");
                        assert_eq!(r.pos, start + count as usize);
                    }
                    None => assert_eq!(r.read_bits(count), Err(BitError::UnexpectedEnd)),
                }
            }
        }
    }

    #[test]
    fn golomb_codes_round_trip_at_every_offset_and_length() {
        let mut values: Vec<u64> = (0..64).map(|b| (1u64 << b) - 1).collect();
        values.extend((0..63).map(|b| 1u64 << b));
        values.extend([0, 1, 2, 3, 1000, 123_456_789, u64::from(u32::MAX) + 5]);
        for k in [0, 1, 2, 4, 16] {
            for lead in 0..8 {
                let mut w = BitWriter::new();
                w.write_bits(0, lead);
                let fits: Vec<u64> = values
                    .iter()
                    .copied()
                    .filter(|v| (v >> k) < u64::MAX >> 1)
                    .collect();
                for &v in &fits {
                    w.write_golomb(v, k);
                }
                let bytes = w.finish().to_vec();
                let mut r = BitReader::new(&bytes);
                assert_eq!(r.read_bits(lead), Ok(0));
                for &v in &fits {
                    assert_eq!(r.read_golomb(k), Ok(v), "k {k} lead {lead}");
                }
                assert!(r.remaining_bits() < 8);
            }
        }
    }

    #[test]
    fn a_golomb_code_cut_short_is_an_error_whatever_its_length() {
        for v in [0u64, 5, 1 << 20, 1 << 40, u64::MAX >> 2] {
            let mut w = BitWriter::new();
            w.write_golomb(v, 2);
            let bits = w.bit_len();
            let bytes = w.finish().to_vec();
            // Every whole-byte prefix shorter than the code fails cleanly.
            for len in 0..bytes.len() {
                if len * 8 >= bits {
                    break;
                }
                assert!(BitReader::new(&bytes[..len]).read_golomb(2).is_err());
            }
        }
        // A prefix of 56, 57 and 63 zeros then a one: the fast path's edge.
        for zeros in [56usize, 57, 63] {
            let mut bytes = vec![0u8; 16];
            bytes[zeros / 8] = 0x80 >> (zeros % 8);
            let mut r = BitReader::new(&bytes);
            let v = r.read_golomb(0).expect("a whole code");
            assert_eq!(v, (1u64 << zeros) - 1);
            assert_eq!(r.pos, 2 * zeros + 1);
        }
    }

    #[test]
    fn zigzag_is_a_bijection_on_edges() {
        for v in [0, 1, -1, 2, -2, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
