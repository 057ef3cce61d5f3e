//! EWF (Expert Witness Compression Format, `.E01`) evidence files, as written by EnCase, FTK
//! Imager, Guymager and libewf's `ewfacquire`: a set of segment files (`.E01`, `.E02`, …, `.EAA`,
//! …) that hold the acquired disk in chunks (32 KiB by default), each zlib-compressed or stored
//! with an Adler-32, found through `table` sections; plus the case data of the acquisition
//! (`header2`/`header`) and the hashes of the media (`hash`, `digest`).
//!
//! Segments are found beside the first one by name, through the image's [`Resolver`] (the same
//! folder policy as other files an image names), and must carry their numbers in order; the set
//! ends at the segment whose last section is `done`. EWF2 (`.Ex01`) and logical evidence files
//! (`.L01`) are detected and refused.
//!
//! Bounds: the chunk table is held in memory at 8 bytes a chunk, within `max_table_bytes`
//! (32 MiB by default: 4 Mi chunks, 128 GiB of disk with 32 KiB chunks); every segment stays open
//! (one file handle each), at most `max_segments` of them; a chunk is at most `max_unit_bytes`.

mod header;
mod sections;
mod segments;
mod table;

use crate::container::cache::{inflate_into, zeroed, InflateBudget, LruCache};
use crate::disk::{read_in_pieces, ContainerFormat, VirtualDisk};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};
use sections::{le32, le64, read_section, Section, FILE_HEADER};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub(crate) use sections::signature;

/// What an evidence file records about its acquisition. Text is as written (trimmed); dates are
/// rendered as [`Acquisition::acquired`] says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Acquisition {
    /// The evidence format: `ewf`.
    pub format: String,
    /// Case number (`c`).
    pub case_number: Option<String>,
    /// Evidence number (`n`).
    pub evidence_number: Option<String>,
    /// Description (`a`).
    pub description: Option<String>,
    /// Examiner name (`e`).
    pub examiner: Option<String>,
    /// Notes (`t`).
    pub notes: Option<String>,
    /// Acquisition date (`m`). From `header2` (a POSIX timestamp) it is UTC, rendered
    /// `2026-12-06T09:47:02Z`; from an ASCII `header` (`2026 12 6 9 47 2`, the acquiring
    /// machine's local time, zone not recorded) it is rendered without a zone,
    /// `2026-12-06T09:47:02`; any other form is kept as written.
    pub acquired: Option<String>,
    /// The acquiring system's clock at acquisition (`u`), rendered as `acquired`.
    pub system_date: Option<String>,
    /// The acquisition software's name, when recorded (EWF's header records only a version, so
    /// this is `None` for EWF).
    pub acquisition_software: Option<String>,
    /// The acquisition software's version (`av`: EnCase's version, or libewf's for `ewfacquire`).
    pub acquisition_software_version: Option<String>,
    /// The operating system it ran on (`ov`).
    pub acquisition_os: Option<String>,
    /// The acquired device's model (`md`).
    pub model: Option<String>,
    /// The acquired device's serial number (`sn`).
    pub serial_number: Option<String>,
    /// MD5 of the media as stored in the image (`hash` or `digest` section), lower-case hex.
    pub md5: Option<String>,
    /// SHA-1 of the media as stored in the image (`digest` section), lower-case hex.
    pub sha1: Option<String>,
    /// Bytes in a chunk.
    pub chunk_size: u64,
    /// Sectors of the media.
    pub sectors: u64,
    /// Bytes in a sector.
    pub bytes_per_sector: u32,
    /// Compression level recorded: `none`, `fast` or `best` (`None` when not recorded).
    pub compression: Option<String>,
    /// Media type recorded: `removable`, `fixed`, `optical`, `memory`, or the number.
    pub media_type: Option<String>,
}

/// Inflated chunks kept, in bytes.
const CACHE_BYTES: u64 = 4 << 20;
/// Bits of a packed chunk entry: offset in its segment (48), segment index (15), compressed (1).
const OFFSET_BITS: u32 = 48;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;
const SEGMENT_MASK: u64 = 0x7fff;
const COMPRESSED: u64 = 1 << 63;

/// The volume (or disk) section's geometry.
#[derive(Debug, Clone, Copy)]
struct Volume {
    sectors_per_chunk: u32,
    bytes_per_sector: u32,
    sectors: u64,
    media_type: Option<u8>,
    compression: Option<u8>,
}

/// An EWF evidence file set read as a disk.
pub struct EwfDisk {
    names: Vec<String>,
    store: Store,
    cache: LruCache<Vec<u8>>,
    acquisition: Acquisition,
}

/// The segments and where each chunk is in them.
struct Store {
    segments: Vec<FileSource>,
    /// Per chunk: offset, segment index, compressed flag (see the bit constants).
    chunks: Vec<u64>,
    /// Per segment: the byte ranges of its `sectors` and `table` sections' data, in file order.
    ranges: Vec<Vec<(u64, u64)>>,
    chunk_size: u64,
    size: u64,
    budget: InflateBudget,
    max_unit: u64,
}

impl std::fmt::Debug for EwfDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EwfDisk")
            .field("segments", &self.names)
            .field("size", &self.store.size)
            .field("chunk_size", &self.store.chunk_size)
            .finish()
    }
}

/// What walking the segments gathers.
#[derive(Default)]
struct Gathered {
    volume: Option<Volume>,
    header2: Option<header::HeaderValues>,
    header: Option<header::HeaderValues>,
    md5: Option<String>,
    sha1: Option<String>,
    chunks: Vec<u64>,
    ranges: Vec<Vec<(u64, u64)>>,
}

fn hex(b: &[u8]) -> Option<String> {
    if b.iter().all(|&x| x == 0) {
        return None;
    }
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

impl EwfDisk {
    /// Opens the set whose first segment is `src` (its file name must end in `.E01`, `.e01` or
    /// `.s01` for a set of several segments); the others open through `resolver`.
    pub fn open(src: FileSource, resolver: &dyn Resolver, limits: &ImageLimits) -> Result<Self> {
        let first_path = src.name().to_owned();
        let first_file =
            Path::new(&first_path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let max_chunks = limits.max_table_bytes / 8;
        let mut g = Gathered::default();
        let mut segments: Vec<FileSource> = Vec::new();
        let mut names = Vec::new();
        let mut next_src = Some(src);
        let mut n: u32 = 1;
        loop {
            let mut seg = match next_src.take() {
                Some(s) => s,
                None => {
                    ImageLimits::check("max_segments", u64::from(n), u64::from(limits.max_segments))?;
                    let name = segments::name(&first_file, n).ok_or_else(|| {
                        ImageError::Unsupported(format!(
                            "{first_path}: segment {} ends with a `next` section, but a set of several segments must start with a file named *.E01 (or .e01, .s01), and at most .ZZZ",
                            n - 1
                        ))
                    })?;
                    let seg = resolver.open(&name, "EWF segment file")?;
                    names.push(Path::new(&first_path).with_file_name(&name).display().to_string());
                    seg
                }
            };
            if n == 1 {
                names.push(first_path.clone());
            }
            let number = sections::segment_number(&mut seg)?;
            if u32::from(number) != n {
                return Err(ImageError::Corrupt {
                    what: "EWF segment number",
                    offset: 9,
                    reason: format!(
                        "{} says it is segment {number}, but it is segment {n} of the set (a gap, a loop, or a file of another set)",
                        seg.name()
                    ),
                });
            }
            let index = segments.len();
            let more = walk_segment(&mut seg, index, &mut g, limits, max_chunks)?;
            segments.push(seg);
            if !more {
                break;
            }
            n += 1;
        }
        let vol = g.volume.ok_or_else(|| ImageError::Corrupt {
            what: "EWF segment file",
            offset: FILE_HEADER,
            reason: "no volume or disk section in the first segment".into(),
        })?;
        let bps = vol.bytes_per_sector;
        if bps == 0 || !bps.is_power_of_two() || vol.sectors_per_chunk == 0 {
            return Err(ImageError::BadField {
                what: "EWF volume geometry",
                offset: FILE_HEADER,
                value: u64::from(bps),
                expected: "a power-of-two sector size and at least one sector a chunk",
            });
        }
        let chunk_size = u64::from(vol.sectors_per_chunk) * u64::from(bps);
        ImageLimits::check("max_unit_bytes", chunk_size, limits.max_unit_bytes)?;
        let size = vol.sectors.checked_mul(u64::from(bps)).ok_or(ImageError::BadField {
            what: "EWF sector count",
            offset: FILE_HEADER,
            value: vol.sectors,
            expected: "a media size that fits 64 bits",
        })?;
        let needed = size.div_ceil(chunk_size);
        if (g.chunks.len() as u64) < needed {
            return Err(ImageError::Corrupt {
                what: "EWF chunk tables",
                offset: 0,
                reason: format!(
                    "the tables list {} chunks, but {} sectors of {bps} bytes need {needed} of {chunk_size} bytes (a missing segment?)",
                    g.chunks.len(),
                    vol.sectors
                ),
            });
        }
        g.chunks.truncate(needed as usize);
        // Every chunk must lie in a sectors (or table) section of its segment.
        for (i, &c) in g.chunks.iter().enumerate() {
            let seg = ((c >> OFFSET_BITS) & SEGMENT_MASK) as usize;
            let off = c & OFFSET_MASK;
            if range_end(g.ranges.get(seg).map(Vec::as_slice).unwrap_or_default(), off).is_none() {
                return Err(ImageError::Corrupt {
                    what: "EWF table entry",
                    offset: off,
                    reason: format!("chunk {i} at {off:#x} of segment {} is outside every sectors section", seg + 1),
                });
            }
        }
        let values = g.header2.as_ref().or(g.header.as_ref());
        let get = |id: &str| values.and_then(|h| h.get(id)).map(str::to_owned);
        let compression = vol
            .compression
            .map(|c| match c {
                0 => "none".to_owned(),
                1 => "fast".to_owned(),
                2 => "best".to_owned(),
                o => o.to_string(),
            })
            .or_else(|| {
                g.header.as_ref().and_then(|h| h.get("r")).map(|r| match r {
                    "n" => "none".to_owned(),
                    "f" => "fast".to_owned(),
                    "b" => "best".to_owned(),
                    o => o.to_owned(),
                })
            });
        let acquisition = Acquisition {
            format: "ewf".into(),
            case_number: get("c"),
            evidence_number: get("n"),
            description: get("a"),
            examiner: get("e"),
            notes: get("t"),
            acquired: get("m").map(|v| header::render_date(&v)),
            system_date: get("u").map(|v| header::render_date(&v)),
            acquisition_software: None,
            acquisition_software_version: get("av"),
            acquisition_os: get("ov"),
            model: get("md"),
            serial_number: get("sn"),
            md5: g.md5,
            sha1: g.sha1,
            chunk_size,
            sectors: vol.sectors,
            bytes_per_sector: bps,
            compression,
            media_type: vol.media_type.map(|m| match m {
                0 => "removable".to_owned(),
                1 => "fixed".to_owned(),
                3 => "optical".to_owned(),
                0x10 => "memory".to_owned(),
                o => o.to_string(),
            }),
        };
        let capacity = usize::try_from((CACHE_BYTES / chunk_size).max(2)).unwrap_or(2);
        Ok(EwfDisk {
            names,
            store: Store {
                segments,
                chunks: g.chunks,
                ranges: g.ranges,
                chunk_size,
                size,
                budget: InflateBudget::new(limits.max_inflated_bytes),
                max_unit: limits.max_unit_bytes,
            },
            cache: LruCache::new(capacity),
            acquisition,
        })
    }

    /// The acquisition metadata recorded in the evidence file.
    pub fn acquisition(&self) -> &Acquisition {
        &self.acquisition
    }

    /// The segment files, in order, named as the first one was.
    pub fn segment_names(&self) -> &[String] {
        &self.names
    }
}

impl Store {
    /// Reads chunk `c`: inflated, or stored and its Adler-32 checked.
    fn load_chunk(&mut self, c: u64) -> Result<Vec<u8>> {
        let idx = usize::try_from(c).map_err(|_| crate::disk::overflow("EWF chunk", c))?;
        let packed = *self.chunks.get(idx).ok_or_else(|| crate::disk::overflow("EWF chunk", c))?;
        let seg = ((packed >> OFFSET_BITS) & SEGMENT_MASK) as usize;
        let off = packed & OFFSET_MASK;
        let compressed = packed & COMPRESSED != 0;
        let len = self.chunk_size.min(self.size - c * self.chunk_size);
        let ranges = self.ranges.get(seg).map(Vec::as_slice).unwrap_or_default();
        let mut end = range_end(ranges, off).ok_or_else(|| ImageError::Corrupt {
            what: "EWF table entry",
            offset: off,
            reason: format!("chunk {c} is outside every sectors section"),
        })?;
        // The next chunk in the same segment, when it follows, ends this one sooner.
        if let Some(&next) = self.chunks.get(idx + 1) {
            let nseg = ((next >> OFFSET_BITS) & SEGMENT_MASK) as usize;
            let noff = next & OFFSET_MASK;
            if nseg == seg && noff > off && noff < end {
                end = noff;
            }
        }
        let src = self.segments.get_mut(seg).ok_or_else(|| crate::disk::overflow("EWF segment", c))?;
        let mut out = zeroed(len, "max_unit_bytes", self.max_unit)?;
        if compressed {
            let stored = (end - off).min(self.chunk_size.saturating_mul(2).saturating_add(1024));
            let data = src.read_vec_at(
                off,
                stored,
                "EWF compressed chunk",
                "max_unit_bytes",
                self.max_unit.saturating_mul(2).saturating_add(1024),
            )?;
            self.budget.charge(len)?;
            let n = inflate_into(&data, &mut out, true, "EWF compressed chunk", off)?;
            if n as u64 != len {
                return Err(ImageError::Corrupt {
                    what: "EWF compressed chunk",
                    offset: off,
                    reason: format!("chunk {c} inflates to {n} bytes, it holds {len}"),
                });
            }
        } else {
            if end - off < len + 4 {
                return Err(ImageError::Truncated {
                    what: "EWF stored chunk",
                    offset: off,
                    needed: len + 4,
                    available: end - off,
                });
            }
            src.read_exact_at(off, &mut out, "EWF stored chunk")?;
            let mut sum = [0u8; 4];
            src.read_exact_at(off + len, &mut sum, "EWF stored chunk checksum")?;
            let (stored, computed) = (u32::from_le_bytes(sum), sections::adler32(&out));
            if stored != computed {
                return Err(ImageError::BadChecksum {
                    what: "EWF stored chunk",
                    offset: off,
                    expected: u64::from(computed),
                    found: u64::from(stored),
                });
            }
        }
        Ok(out)
    }
}

/// The end of the range of `ranges` (sorted, disjoint) that holds `off`.
fn range_end(ranges: &[(u64, u64)], off: u64) -> Option<u64> {
    let i = ranges.partition_point(|&(s, _)| s <= off);
    let &(s, e) = ranges.get(i.checked_sub(1)?)?;
    (off >= s && off < e).then_some(e)
}

/// Walks one segment's sections, gathering into `g`. Returns true when the segment ends in
/// `next` (more segments follow), false for `done`.
fn walk_segment(
    seg: &mut FileSource,
    index: usize,
    g: &mut Gathered,
    limits: &ImageLimits,
    max_chunks: u64,
) -> Result<bool> {
    let seg_bits = u64::try_from(index).ok().filter(|&i| i <= SEGMENT_MASK).ok_or(ImageError::LimitExceeded {
        limit: "max_segments",
        value: index as u64 + 1,
        max: SEGMENT_MASK,
    })?;
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut offset = FILE_HEADER;
    // A table whose checksum failed, waiting for its table2 mirror.
    let mut pending: Option<ImageError> = None;
    let mut last_table_ok = false;
    loop {
        if offset == seg.len() {
            return Err(ImageError::Corrupt {
                what: "EWF segment file",
                offset,
                reason: format!(
                    "{} ends without a `next` or `done` section (an unfinished acquisition, or a cut copy)",
                    seg.name()
                ),
            });
        }
        let s: Section = read_section(seg, offset)?;
        if let Some(e) = pending.take() {
            if s.kind != "table2" {
                return Err(e);
            }
            pending = Some(e);
        }
        match s.kind.as_str() {
            "header2" | "header" if index == 0 => {
                let utf16 = s.kind == "header2";
                let slot = if utf16 { g.header2.is_none() } else { g.header.is_none() };
                if slot {
                    let data = seg.read_vec_at(
                        s.data,
                        s.data_len(),
                        "EWF header section",
                        "max_header_bytes",
                        limits.max_header_bytes,
                    )?;
                    let text = header::decode(&data, utf16, limits.max_header_bytes, s.data)?;
                    let values = header::parse(&text);
                    if utf16 {
                        g.header2 = Some(values);
                    } else {
                        g.header = Some(values);
                    }
                }
            }
            "volume" | "disk" if g.volume.is_none() => {
                let len = s.data_len().min(1052);
                let data =
                    seg.read_vec_at(s.data, len, "EWF volume section", "max_header_bytes", limits.max_header_bytes)?;
                g.volume = Some(parse_volume(&data, s.data)?);
            }
            "sectors" => ranges.push((s.data, s.end)),
            "table" | "table2" => {
                if s.kind == "table" {
                    // EnCase 1 and SMART keep the chunks inside the table section.
                    ranges.push((s.data, s.end));
                    last_table_ok = false;
                } else if last_table_ok {
                    offset = s.next;
                    continue;
                }
                let data = seg.read_vec_at(
                    s.data,
                    s.data_len(),
                    "EWF table section",
                    "max_table_bytes",
                    limits.max_table_bytes,
                )?;
                let room = max_chunks.saturating_sub(g.chunks.len() as u64);
                match table::parse(&data, s.data, room) {
                    Ok(entries) => {
                        pending = None;
                        last_table_ok = true;
                        for e in entries {
                            if e.offset >= seg.len() || e.offset > OFFSET_MASK {
                                return Err(ImageError::Corrupt {
                                    what: "EWF table entry",
                                    offset: s.data,
                                    reason: format!(
                                        "chunk {} at {:#x} is past the end of {} ({} bytes)",
                                        g.chunks.len(),
                                        e.offset,
                                        seg.name(),
                                        seg.len()
                                    ),
                                });
                            }
                            let c = if e.compressed { COMPRESSED } else { 0 };
                            g.chunks.push(c | (seg_bits << OFFSET_BITS) | e.offset);
                        }
                    }
                    Err(e @ ImageError::BadChecksum { .. }) if s.kind == "table" => pending = Some(e),
                    Err(e) => return Err(pending.take().unwrap_or(e)),
                }
            }
            "hash" => {
                let data = seg.read_vec_at(s.data, s.data_len().min(36), "EWF hash section", "max_header_bytes", 36)?;
                if data.len() == 36 {
                    sections::check_adler(&data, 32, "EWF hash section", s.data)?;
                    g.md5 = hex(data.get(..16).unwrap_or_default()).or(g.md5.take());
                }
            }
            "digest" => {
                let data =
                    seg.read_vec_at(s.data, s.data_len().min(80), "EWF digest section", "max_header_bytes", 80)?;
                if data.len() == 80 {
                    sections::check_adler(&data, 76, "EWF digest section", s.data)?;
                    g.md5 = hex(data.get(..16).unwrap_or_default()).or(g.md5.take());
                    g.sha1 = hex(data.get(16..36).unwrap_or_default()).or(g.sha1.take());
                }
            }
            _ => {}
        }
        if s.is_last() {
            if let Some(e) = pending {
                return Err(e);
            }
            // Sections come in file order, so the ranges are sorted; keep them disjoint.
            ranges.sort_unstable();
            g.ranges.push(ranges);
            return Ok(s.kind == "next");
        }
        offset = s.next;
    }
}

/// Parses a volume (or disk) section: 1052 bytes (EnCase, FTK Imager, libewf) or 94 (SMART and
/// the original EWF).
fn parse_volume(d: &[u8], offset: u64) -> Result<Volume> {
    if d.len() >= 1052 {
        sections::check_adler(d, 1048, "EWF volume section", offset)?;
        Ok(Volume {
            media_type: d.first().copied(),
            sectors_per_chunk: le32(d, 8),
            bytes_per_sector: le32(d, 12),
            sectors: le64(d, 16),
            compression: d.get(52).copied(),
        })
    } else if d.len() >= 94 {
        sections::check_adler(d, 90, "EWF volume section", offset)?;
        Ok(Volume {
            media_type: None,
            sectors_per_chunk: le32(d, 8),
            bytes_per_sector: le32(d, 12),
            sectors: u64::from(le32(d, 16)),
            compression: None,
        })
    } else {
        Err(ImageError::Truncated { what: "EWF volume section", offset, needed: 94, available: d.len() as u64 })
    }
}

impl VirtualDisk for EwfDisk {
    fn size(&self) -> u64 {
        self.store.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let (store, cache) = (&mut self.store, &mut self.cache);
        let (size, cs) = (store.size, store.chunk_size);
        read_in_pieces("EWF disk", size, offset, buf, |off, out| {
            let c = off / cs;
            let within = usize::try_from(off % cs).unwrap_or(usize::MAX);
            let chunk = cache.get_or_try_insert_with(c, || store.load_chunk(c))?;
            let avail = chunk.get(within..).unwrap_or_default();
            let n = avail.len().min(out.len());
            if n == 0 {
                return Err(crate::disk::overflow("EWF chunk", off));
            }
            out.get_mut(..n).unwrap_or_default().copy_from_slice(avail.get(..n).unwrap_or_default());
            Ok(n)
        })
    }

    fn format(&self) -> ContainerFormat {
        ContainerFormat::Ewf
    }

    fn acquisition(&self) -> Option<Acquisition> {
        Some(self.acquisition.clone())
    }

    fn segments(&self) -> Vec<String> {
        self.names.clone()
    }
}
