//! Input formats shared by the fuzz targets and the seed generator.
//!
//! Each structured target reads its input with a small hand-rolled format
//! (every byte string is a valid input; a short one just reads zeros), and
//! each format has a writer, so `examples/gen_seeds.rs` can write seeds that
//! start the fuzzer from realistic, valid sessions and deltas.
//!
//! - [`bytes`]: the little-endian reader and writer under every format.
//! - [`entities`]: entity states and id-sorted entity lists.
//! - [`delta_input`]: the `apply_delta` target's input (raw payloads and round trips).
//! - [`session_input`]: the `session_bytes` target's script of session calls.

pub mod bytes;
pub mod delta_input;
pub mod entities;
pub mod session_input;
