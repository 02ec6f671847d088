//! Special-purpose registers that generated code never touches directly.

/// Supervisor SPR state reached through the `mfspr`/`mtspr` helpers.
#[derive(Clone, Debug)]
pub struct Sprs {
    /// Interrupt vector prefix.
    pub ivpr: u32,
    /// Interrupt vector offsets, indexed by IVOR number.
    pub ivor: [u32; 64],
    /// Processor ID.
    pub pir: u32,
    /// Processor version.
    pub pvr: u32,
    /// L1 cache control 0 and 1.
    pub l1csr: [u32; 2],
    /// Hardware implementation dependent 0 and 1.
    pub hid: [u32; 2],
    /// L2 cache control.
    pub l2csr0: u32,
    /// Machine check syndrome, address, address upper.
    pub mcsr: u32,
    /// Machine check address.
    pub mcar: u32,
    /// Machine check address (upper).
    pub mcaru: u32,
    /// Debug control 0..2.
    pub dbcr: [u32; 3],
    /// Debug status.
    pub dbsr: u32,
    /// Instruction address compare 1, 2.
    pub iac: [u32; 2],
    /// Data address compare 1, 2.
    pub dac: [u32; 2],
    /// External proxy register (vector of the last external interrupt taken).
    pub epr: u32,
}

impl Default for Sprs {
    fn default() -> Self {
        Sprs {
            ivpr: 0,
            ivor: [0; 64],
            pir: 0,
            pvr: super::PVR_E500MC,
            l1csr: [0; 2],
            hid: [0; 2],
            l2csr0: 0,
            mcsr: 0,
            mcar: 0,
            mcaru: 0,
            dbcr: [0; 3],
            dbsr: 0,
            iac: [0; 2],
            dac: [0; 2],
            epr: 0,
        }
    }
}
