//! Which host backend each guest character device gets: the UARTs (`-serial`) and the
//! virtio consoles (`-device virtconsole,chardev=`, `-virtioconsole`), resolved against the
//! `-chardev`s. The terminal can serve one device only.

use crate::backends::{self, InputTo, Opened};
use crate::chardev::{parse_short, Chardev, Registry, Short};
use crate::cli::Cli;
use anyhow::bail;
use ferrite_machines::ppce500::{CharBackend, ConsoleInput, NullBackend};
use ferrite_machines::{CharInput, HostEvents, PciDevice};
use std::sync::Arc;

/// The host side of the guest's character devices.
pub struct CharDevices {
    /// One backend per UART (at least one).
    pub serials: Vec<Box<dyn CharBackend>>,
    /// One virtio-serial device per console ([`PciDevice::Console`]), with the position of
    /// its `-device` among all `-device` options (None: from `-virtioconsole`).
    pub consoles: Vec<(Option<usize>, PciDevice)>,
    /// The device the terminal belongs to, if any.
    pub stdio: Option<CharInput>,
}

/// Resolves and opens every character backend of `cli`.
pub fn open(cli: &Cli, events: &Arc<HostEvents>) -> anyhow::Result<CharDevices> {
    let mut registry = Registry::new(&cli.chardev).map_err(anyhow::Error::msg)?;
    let resolve = |registry: &mut Registry, opt: &str, spec: &str| -> anyhow::Result<Option<Chardev>> {
        Ok(match parse_short(opt, spec).map_err(anyhow::Error::msg)? {
            Short::None => None,
            Short::Dev(d) => Some(d),
            Short::Ref(id) => Some(registry.take(&id, opt).map_err(anyhow::Error::msg)?),
        })
    };
    // Consoles first: whether one takes the terminal decides the first UART's default.
    let mut wanted: Vec<(Option<usize>, &str, Chardev)> = Vec::new();
    for dev in ferrite_machines::console::serial_devices(&cli.device).map_err(anyhow::Error::msg)? {
        let backend = match &dev.chardev {
            Some(id) => registry.take(id, "-device virtconsole").map_err(anyhow::Error::msg)?,
            None => Chardev::Null,
        };
        wanted.push((Some(dev.device_index), "-device virtconsole", backend));
    }
    for spec in &cli.virtioconsole {
        if let Some(d) = resolve(&mut registry, "-virtioconsole", spec)? {
            wanted.push((None, "-virtioconsole", d));
        }
    }
    let console_has_stdio = wanted.iter().any(|(_, _, d)| *d == Chardev::Stdio);
    // No -serial: the first UART is the terminal (QEMU's -nographic), unless a console has it
    // or -nodefaults asks for no default.
    let default = if console_has_stdio || cli.nodefaults { "null" } else { "stdio" };
    let specs: Vec<&str> = if cli.serial.is_empty() { vec![default] } else { cli.serial.iter().map(String::as_str).collect() };

    let mut out = CharDevices { serials: Vec::new(), consoles: Vec::new(), stdio: None };
    let attach = |out: &mut CharDevices, dev: &Chardev, label: &str, to: &InputTo| -> anyhow::Result<Box<dyn CharBackend>> {
        match backends::open(dev, label, to, events)? {
            Opened::Backend(b) => Ok(b),
            Opened::Stdio if out.stdio.is_some() => bail!("{label}: stdio is already used by another device (the terminal serves one)"),
            Opened::Stdio => {
                out.stdio = Some(to.device());
                Ok(backends::stdout())
            }
        }
    };
    for spec in specs {
        if let Some(dev) = resolve(&mut registry, "-serial", spec)? {
            let to = InputTo::Serial(out.serials.len());
            let b = attach(&mut out, &dev, "-serial", &to)?;
            out.serials.push(b);
        }
    }
    if out.serials.is_empty() {
        out.serials.push(Box::new(NullBackend));
    }
    for (index, label, dev) in wanted {
        let input = ConsoleInput::new();
        let to = InputTo::Console(out.consoles.len(), input.clone());
        let backend = attach(&mut out, &dev, label, &to)?;
        out.consoles.push((index, PciDevice::Console { backend, input }));
    }
    for id in registry.unused() {
        tracing::warn!("-chardev '{id}' is not used by any device");
    }
    Ok(out)
}
