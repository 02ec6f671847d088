//! Disks given on the command line, in QEMU's spelling:
//! `-drive file=PATH[,if=virtio][,format=raw][,readonly=on|off][,cache=MODE][,serial=S][,id=NAME]`
//! and `-hda PATH`.

use std::path::{Path, PathBuf};

/// One disk for the board to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriveConfig {
    /// The image file.
    pub file: PathBuf,
    /// Attach read-only (the guest sees a read-only disk; the file is opened read-only).
    pub read_only: bool,
    /// Serial number the guest reads with GET_ID (at most 20 bytes).
    pub serial: Option<String>,
}

/// The keys `-drive` accepts.
const KEYS: &[&str] = &["file", "if", "format", "readonly", "cache", "serial", "id", "media", "index"];

impl DriveConfig {
    /// `-hda FILE`: a raw virtio disk.
    pub fn hda(file: &Path) -> DriveConfig {
        DriveConfig { file: file.to_path_buf(), read_only: false, serial: None }
    }

    /// Parses a `-drive` option string. Unknown keys, interfaces other than virtio and
    /// formats other than raw are errors that say what is accepted.
    pub fn parse(spec: &str) -> Result<DriveConfig, String> {
        let mut file = None;
        let mut read_only = false;
        let mut serial = None;
        let mut format = None;
        for item in split_options(spec) {
            let (key, value) = item.split_once('=').ok_or_else(|| format!("-drive: '{item}' is not KEY=VALUE"))?;
            match key {
                "file" => file = Some(PathBuf::from(value)),
                "if" if value == "virtio" => {}
                "if" => return Err(format!("-drive: if={value} is not supported (only if=virtio)")),
                "format" if value == "raw" => format = Some(value.to_string()),
                "format" if value == "qcow2" => return Err("-drive: format=qcow2 is not supported yet (only raw)".into()),
                "format" => return Err(format!("-drive: format={value} is not supported (only raw)")),
                "readonly" => read_only = parse_bool(key, value)?,
                "cache" => {
                    // The guest's flushes always reach the disk (writeback semantics);
                    // the other modes are accepted for command-line compatibility.
                    if !["writeback", "none", "writethrough", "directsync", "unsafe"].contains(&value) {
                        return Err(format!("-drive: cache={value} is not a cache mode"));
                    }
                }
                "serial" => serial = Some(value.to_string()),
                "id" | "index" => {}
                "media" if value == "disk" => {}
                "media" => return Err(format!("-drive: media={value} is not supported (only disk)")),
                _ => return Err(format!("-drive: unknown option '{key}' (accepted: {})", KEYS.join(", "))),
            }
        }
        let file = file.ok_or("-drive: file= is required")?;
        if format.is_none() && is_qcow2(&file) {
            return Err(format!("-drive: {} is a qcow2 image, which is not supported yet (only raw)", file.display()));
        }
        Ok(DriveConfig { file, read_only, serial })
    }
}

/// Splits at commas, where QEMU writes a literal comma as ",,".
fn split_options(spec: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                if let Some(s) = out.last_mut() {
                    s.push(',');
                }
            } else {
                out.push(String::new());
            }
        } else if let Some(s) = out.last_mut() {
            s.push(c);
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(format!("-drive: {key}={v}: expected on or off")),
    }
}

fn is_qcow2(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"QFI\xfb"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_spellings() {
        let d = DriveConfig::parse("file=rootfs.ext2,if=virtio,format=raw").unwrap();
        assert_eq!(d, DriveConfig { file: "rootfs.ext2".into(), read_only: false, serial: None });
        let d = DriveConfig::parse("file=a,,b.img,readonly=on,cache=none,serial=xyz,id=disk0").unwrap();
        assert_eq!((d.file.to_str().unwrap(), d.read_only, d.serial.as_deref()), ("a,b.img", true, Some("xyz")));
    }

    #[test]
    fn refusals_say_why() {
        let e = DriveConfig::parse("file=x,bogus=1").unwrap_err();
        assert!(e.contains("unknown option 'bogus'") && e.contains("readonly"), "{e}");
        assert!(DriveConfig::parse("file=x,if=ide").unwrap_err().contains("only if=virtio"));
        assert!(DriveConfig::parse("file=x,format=qcow2").unwrap_err().contains("qcow2"));
        assert!(DriveConfig::parse("if=virtio").unwrap_err().contains("file= is required"));
        assert!(DriveConfig::parse("file=x,readonly=maybe").unwrap_err().contains("on or off"));
        assert!(DriveConfig::parse("x.img").unwrap_err().contains("KEY=VALUE"));
        let q = std::env::temp_dir().join(format!("ferrite-drive-{}.qcow2", std::process::id()));
        std::fs::write(&q, b"QFI\xfb\0\0\0\x03").unwrap();
        assert!(DriveConfig::parse(&format!("file={}", q.display())).unwrap_err().contains("is a qcow2 image"));
        std::fs::remove_file(q).unwrap();
    }
}
