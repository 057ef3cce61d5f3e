//! Raw images split into pieces (`split`, FTK Imager, `dd | split`): `NAME.001`, `NAME.002`, …
//! or `NAMEaa`, `NAMEab`, …, read as one disk when the first piece is given.
//!
//! The set is the first piece and the pieces after it that exist beside it, in order, up to the
//! first missing number (`.999` or `zz` at most); each opens through the image's [`Resolver`],
//! under the same folder policy as every other file an image names. Every piece but the last
//! must have the size of the first, and the last may not be longer: a piece of another size
//! means a set cut or mixed up in copying, and the image is refused (reading it would shift every
//! byte after that piece).

use crate::disk::{check_range, ContainerFormat, VirtualDisk};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};
use std::path::Path;

/// The name of the piece after `name` (a file name, no folder): `x.001` → `x.002`,
/// `xaa` → `xab`, `xaz` → `xba`; `None` after `.999` / `zz`, or for a name that is not a piece.
pub fn next_piece(name: &str) -> Option<String> {
    let b = name.as_bytes();
    let n = b.len();
    if n >= 4 && b[n - 4] == b'.' && b[n - 3..].iter().all(u8::is_ascii_digit) {
        let v: u32 = name.get(n - 3..)?.parse().ok()?;
        if v == 0 || v >= 999 {
            return None;
        }
        return Some(format!("{}{:03}", name.get(..n - 3)?, v + 1));
    }
    if n >= 3 && b[n - 2..].iter().all(u8::is_ascii_lowercase) {
        let (hi, lo) = (b[n - 2], b[n - 1]);
        let (hi, lo) = if lo < b'z' {
            (hi, lo + 1)
        } else if hi < b'z' {
            (hi + 1, b'a')
        } else {
            return None;
        };
        return Some(format!("{}{}{}", name.get(..n - 2)?, char::from(hi), char::from(lo)));
    }
    None
}

/// True when `name` (a file name) is the first piece of a split set: it ends in `.001` or `aa`.
pub fn is_first_piece(name: &str) -> bool {
    (name.len() > 4 && name.ends_with(".001")) || (name.len() > 2 && name.ends_with("aa"))
}

/// The path of the piece after the file at `path` (as named), if `path` is the first piece of a
/// split set and that second piece exists beside it.
pub fn second_piece(path: &str) -> Option<String> {
    let p = Path::new(path);
    let file = p.file_name()?.to_str()?;
    if !is_first_piece(file) {
        return None;
    }
    let next = next_piece(file)?;
    let candidate = p.with_file_name(&next);
    candidate.symlink_metadata().is_ok().then_some(next)
}

/// A raw image in pieces.
pub struct SplitDisk {
    pieces: Vec<FileSource>,
    /// Where each piece starts on the disk.
    starts: Vec<u64>,
    names: Vec<String>,
    size: u64,
}

impl std::fmt::Debug for SplitDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitDisk").field("pieces", &self.names).field("size", &self.size).finish()
    }
}

impl SplitDisk {
    /// Opens the set whose first piece is `first` (named `NAME.001` or `NAMEaa`); the pieces
    /// after it open through `resolver` while they exist beside it.
    pub fn open(first: FileSource, resolver: &dyn Resolver, limits: &ImageLimits) -> Result<Self> {
        let first_path = first.name().to_owned();
        let file = Path::new(&first_path).file_name().and_then(|f| f.to_str()).unwrap_or_default().to_owned();
        if !is_first_piece(&file) {
            return Err(ImageError::Unsupported(format!(
                "{first_path}: a split raw image is read from its first piece, named *.001 or *aa"
            )));
        }
        let piece_size = first.len();
        let mut names = vec![first_path.clone()];
        let mut pieces = vec![first];
        let mut current = file;
        while let Some(next) = next_piece(&current) {
            let path = Path::new(&first_path).with_file_name(&next);
            if path.symlink_metadata().is_err() {
                break;
            }
            ImageLimits::check("max_segments", pieces.len() as u64 + 1, u64::from(limits.max_segments))?;
            let src = resolver.open(&next, "split image piece")?;
            names.push(path.display().to_string());
            pieces.push(src);
            current = next;
        }
        let last = pieces.len() - 1;
        let mut starts = Vec::with_capacity(pieces.len());
        let mut size = 0u64;
        for (i, p) in pieces.iter().enumerate() {
            let ok = if i < last { p.len() == piece_size } else { p.len() <= piece_size && !p.is_empty() };
            if !ok {
                return Err(ImageError::Corrupt {
                    what: "split image piece",
                    offset: 0,
                    reason: format!(
                        "{} is {} bytes, but every piece but the last must be {piece_size} bytes like the first (and the last no longer, not empty): a piece is cut or from another set",
                        names.get(i).map(String::as_str).unwrap_or_default(),
                        p.len()
                    ),
                });
            }
            starts.push(size);
            size = size.checked_add(p.len()).ok_or_else(|| crate::disk::overflow("split image", size))?;
        }
        Ok(SplitDisk { pieces, starts, names, size })
    }
}

impl VirtualDisk for SplitDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range("split disk", offset, buf.len(), self.size)?;
        let (pieces, starts) = (&mut self.pieces, &self.starts);
        crate::disk::read_in_pieces("split disk", self.size, offset, buf, |off, out| {
            let i = starts.partition_point(|&s| s <= off).saturating_sub(1);
            let (Some(piece), Some(&start)) = (pieces.get_mut(i), starts.get(i)) else {
                return Err(crate::disk::overflow("split disk", off));
            };
            let within = off - start;
            let n = usize::try_from(piece.len() - within).unwrap_or(usize::MAX).min(out.len());
            if n == 0 {
                return Err(crate::disk::overflow("split disk", off));
            }
            piece.read_exact_at(within, out.get_mut(..n).unwrap_or_default(), "split image piece")?;
            Ok(n)
        })
    }

    fn format(&self) -> ContainerFormat {
        ContainerFormat::SplitRaw
    }

    fn segments(&self) -> Vec<String> {
        self.names.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Counters, DirResolver};
    use std::sync::Arc;

    #[test]
    fn piece_names() {
        assert_eq!(next_piece("disk.001").as_deref(), Some("disk.002"));
        assert_eq!(next_piece("disk.099").as_deref(), Some("disk.100"));
        assert_eq!(next_piece("disk.999"), None);
        assert_eq!(next_piece("disk.aa").as_deref(), Some("disk.ab"));
        assert_eq!(next_piece("xaz").as_deref(), Some("xba"));
        assert_eq!(next_piece("xzz"), None);
        assert_eq!(next_piece("disk.E01"), None);
        assert!(is_first_piece("a.001") && is_first_piece("xaa") && !is_first_piece("a.002") && !is_first_piece("aa"));
    }

    #[test]
    fn pieces_read_as_one_disk_and_unequal_pieces_are_refused() {
        let dir = std::env::temp_dir().join(format!("regnet-split-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
        for (i, c) in data.chunks(1000).enumerate() {
            std::fs::write(dir.join(format!("d.{:03}", i + 1)), c).unwrap();
        }
        let counters = Arc::new(Counters::default());
        let limits = ImageLimits::default();
        let open = |name: &str| {
            let first = FileSource::open_path(&dir.join(name), counters.clone(), &limits).unwrap();
            let r = DirResolver::new(&dir, &[], counters.clone(), limits);
            SplitDisk::open(first, &r, &limits)
        };
        let mut d = open("d.001").unwrap();
        assert_eq!(d.size(), 2500);
        assert_eq!(d.segments().len(), 3);
        let mut all = vec![0u8; 2500];
        d.read_at(0, &mut all).unwrap();
        assert_eq!(all, data);
        let mut b = [0u8; 10];
        d.read_at(995, &mut b).unwrap();
        assert_eq!(&b[..], &data[995..1005]);
        assert!(d.read_at(2495, &mut b).is_err());
        // A short middle piece is refused.
        std::fs::write(dir.join("d.002"), &data[..999]).unwrap();
        assert!(matches!(open("d.001"), Err(ImageError::Corrupt { .. })));
        // A last piece longer than the first too.
        std::fs::write(dir.join("d.002"), &data[..1000]).unwrap();
        std::fs::write(dir.join("d.003"), &data[..1001]).unwrap();
        assert!(matches!(open("d.001"), Err(ImageError::Corrupt { .. })));
        // A gap ends the set: d.004 after a missing d.003 is not read.
        std::fs::remove_file(dir.join("d.003")).unwrap();
        std::fs::write(dir.join("d.004"), &data[..10]).unwrap();
        assert_eq!(open("d.001").unwrap().size(), 2000);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
