#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
use super::*;

/// A volume held in memory.
pub(super) struct Mem(pub Vec<u8>);

impl Volume for Mem {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let s = offset as usize;
        let src = self.0.get(s..s + buf.len()).ok_or(ImageError::OutOfRange {
            what: "mem",
            offset,
            len: buf.len() as u64,
            size: self.0.len() as u64,
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

#[test]
fn probe_needs_the_magic() {
    assert!(!probe(&mut Mem(vec![0; 100])).unwrap());
    let mut v = vec![0u8; 4096];
    assert!(!probe(&mut Mem(v.clone())).unwrap());
    v[1080] = 0x53;
    v[1081] = 0xEF;
    assert!(probe(&mut Mem(v)).unwrap());
}
