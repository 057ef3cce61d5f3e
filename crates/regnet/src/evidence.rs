//! What an evidence file (EWF `.E01`) records about its acquisition, in the report's `source`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The acquisition data an evidence file records (`source.evidence`): who acquired what, when,
/// with what, and the hashes of the media stored in it. Text is as written in the file (trimmed);
/// a field the file does not record is null.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Evidence {
    /// The evidence format: `ewf`.
    #[serde(default)]
    pub format: String,
    /// Case number.
    #[serde(default)]
    pub case_number: Option<String>,
    /// Evidence number.
    #[serde(default)]
    pub evidence_number: Option<String>,
    /// Description of the evidence.
    #[serde(default)]
    pub description: Option<String>,
    /// Examiner's name.
    #[serde(default)]
    pub examiner: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// When it was acquired, as recorded. From the UTF-16 `header2` section (a POSIX timestamp,
    /// EnCase 4 and later, libewf) it is UTC: `2026-12-06T09:47:02Z`. From an ASCII `header` alone
    /// (`2026 12 6 9 47 2`, the acquiring machine's local time, its zone not recorded) it has no
    /// zone: `2026-12-06T09:47:02`. Any other form is kept as written.
    #[serde(default)]
    pub acquired: Option<String>,
    /// The acquiring system's clock at acquisition, rendered as `acquired`.
    #[serde(default)]
    pub system_date: Option<String>,
    /// The acquisition software's name, when recorded (EWF records only a version: null).
    #[serde(default)]
    pub acquisition_software: Option<String>,
    /// The acquisition software's version (EnCase's, FTK Imager's, or libewf's for `ewfacquire`).
    #[serde(default)]
    pub acquisition_software_version: Option<String>,
    /// The operating system the acquisition ran on.
    #[serde(default)]
    pub acquisition_os: Option<String>,
    /// The acquired device's model.
    #[serde(default)]
    pub model: Option<String>,
    /// The acquired device's serial number.
    #[serde(default)]
    pub serial_number: Option<String>,
    /// MD5 of the acquired media as stored in the evidence file (lower-case hex); not recomputed.
    #[serde(default)]
    pub md5: Option<String>,
    /// SHA-1 of the acquired media as stored in the evidence file (lower-case hex); not recomputed.
    #[serde(default)]
    pub sha1: Option<String>,
    /// Bytes in a chunk (the unit of compression).
    #[serde(default)]
    pub chunk_size: u64,
    /// Sectors of the acquired media.
    #[serde(default)]
    pub sectors: u64,
    /// Bytes in a sector.
    #[serde(default)]
    pub bytes_per_sector: u32,
    /// Compression level recorded: `none`, `fast` or `best`; null when not recorded.
    #[serde(default)]
    pub compression: Option<String>,
    /// Media type recorded: `fixed`, `removable`, `optical`, `memory` (or the number).
    #[serde(default)]
    pub media_type: Option<String>,
}

impl From<&regnet_image::Acquisition> for Evidence {
    fn from(a: &regnet_image::Acquisition) -> Self {
        Evidence {
            format: a.format.clone(),
            case_number: a.case_number.clone(),
            evidence_number: a.evidence_number.clone(),
            description: a.description.clone(),
            examiner: a.examiner.clone(),
            notes: a.notes.clone(),
            acquired: a.acquired.clone(),
            system_date: a.system_date.clone(),
            acquisition_software: a.acquisition_software.clone(),
            acquisition_software_version: a.acquisition_software_version.clone(),
            acquisition_os: a.acquisition_os.clone(),
            model: a.model.clone(),
            serial_number: a.serial_number.clone(),
            md5: a.md5.clone(),
            sha1: a.sha1.clone(),
            chunk_size: a.chunk_size,
            sectors: a.sectors,
            bytes_per_sector: a.bytes_per_sector,
            compression: a.compression.clone(),
            media_type: a.media_type.clone(),
        }
    }
}
