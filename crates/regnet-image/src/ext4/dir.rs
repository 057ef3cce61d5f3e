//! Directory entries (`ext4_dir_entry_2`) in a directory block or an inline-data region. Hashed
//! (htree) directories need nothing else: their index blocks look like one empty entry spanning
//! the block (or `..` spanning the rest of the first block), and their leaves are ordinary
//! entry blocks. Layout: the kernel's `Documentation/filesystems/ext4/directory.rst`.

use super::le::{u16_at, u32_at, u8_at};
use crate::error::{ImageError, Result};

/// One entry as stored: inode number (never 0), name, file type byte (0 when not recorded).
pub(crate) struct RawEntry<'a> {
    pub ino: u32,
    pub name: &'a [u8],
    pub file_type: u8,
}

/// Calls `f` on each live entry of `region` (which starts at volume byte `at`) until it
/// returns true; returns whether it did. `filetype`: the volume records file types (so the
/// name length is one byte).
pub(crate) fn for_each<'a>(
    region: &'a [u8],
    at: u64,
    filetype: bool,
    f: &mut dyn FnMut(RawEntry<'a>) -> bool,
) -> Result<bool> {
    let mut pos = 0usize;
    let corrupt = |pos: usize, reason: &str| ImageError::Corrupt {
        what: "ext4 directory entry",
        offset: at.saturating_add(pos as u64),
        reason: reason.to_owned(),
    };
    // Every entry is at least 8 bytes, so the loop ends within the region.
    while let Some(head) = region.get(pos..pos.saturating_add(8)).filter(|h| h.len() == 8) {
        let ino = u32_at(head, 0).unwrap_or(0);
        let stored = u16_at(head, 4).unwrap_or(0);
        let rec_len = match stored {
            // A 64 KiB block's single entry.
            0 | 0xFFFF if region.len() == 65536 && pos == 0 => 65536,
            n => usize::from(n),
        };
        let (name_len, file_type) = if filetype {
            (usize::from(u8_at(head, 6).unwrap_or(0)), u8_at(head, 7).unwrap_or(0))
        } else {
            (usize::from(u16_at(head, 6).unwrap_or(0)), 0)
        };
        if rec_len < 8 || rec_len % 4 != 0 {
            return Err(corrupt(pos, &format!("record length {rec_len} is not a multiple of 4 of at least 8")));
        }
        let end = pos.checked_add(rec_len).filter(|&e| e <= region.len()).ok_or_else(|| {
            corrupt(pos, &format!("record length {rec_len} runs past the block ({} bytes)", region.len()))
        })?;
        if name_len.saturating_add(8) > rec_len {
            return Err(corrupt(pos, &format!("name of {name_len} bytes does not fit its {rec_len}-byte record")));
        }
        if ino != 0 && name_len != 0 {
            let name =
                region.get(pos.saturating_add(8)..pos.saturating_add(8).saturating_add(name_len)).unwrap_or_default();
            if f(RawEntry { ino, name, file_type }) {
                return Ok(true);
            }
        }
        pos = end;
    }
    Ok(false)
}
