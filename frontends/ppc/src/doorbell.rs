//! Processor doorbells (msgsnd / msgclr, Book III-E "E.PC"): the interrupts Linux uses for
//! inter-processor messages on e500mc, delivered through each core's interrupt inputs.

use crate::cpu::{IrqInputs, PpcCpu, IRQ_CRIT_DOORBELL, IRQ_DOORBELL};
use crate::helpers::cpu;
use ferrite_softmmu::{CpuHeader, EXIT_REQ_EXTERNAL};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// msgsnd/msgclr rB: message type.
fn msg_type(rb: u32) -> Option<u32> {
    match rb >> 27 {
        0 => Some(IRQ_DOORBELL),
        1 => Some(IRQ_CRIT_DOORBELL),
        _ => None,
    }
}

/// msgsnd rB: broadcast bit.
const BRDCAST: u32 = 0x0400_0000;
/// msgsnd rB: target PIR tag.
const PIRTAG: u32 = 0x3fff;

/// The cores a doorbell can reach: (PIR, interrupt inputs).
pub type Peers = Vec<(u32, Arc<IrqInputs>)>;

impl PpcCpu {
    /// msgsnd: raises the doorbell on every core whose PIR matches (or all on broadcast). A
    /// message to another core also ends this core's turn, so that on a machine that runs its
    /// cores one at a time the receiver gets to answer soon (Linux's IPI senders often wait
    /// for the answer).
    pub fn msgsnd(&mut self, rb: u32) {
        let Some(bit) = msg_type(rb) else { return };
        let own = [(self.spr.pir, self.irq.clone())];
        let peers: &[(u32, Arc<IrqInputs>)] = if self.peers.is_empty() { &own } else { &self.peers };
        let mut other = false;
        for (pir, inputs) in peers {
            if rb & BRDCAST != 0 || *pir == rb & PIRTAG {
                inputs.levels.fetch_or(bit, Ordering::AcqRel);
                other |= !Arc::ptr_eq(inputs, &self.irq);
            }
        }
        if other {
            self.hdr.exit_request.fetch_or(EXIT_REQ_EXTERNAL, Ordering::AcqRel);
        }
    }

    /// msgclr: clears this core's pending doorbell of the message's type.
    pub fn msgclr(&mut self, rb: u32) {
        if let Some(bit) = msg_type(rb) {
            self.irq.levels.fetch_and(!bit, Ordering::AcqRel);
        }
    }
}

pub(crate) unsafe extern "C" fn helper_msgsnd(env: *mut CpuHeader, rb: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    unsafe { cpu(env) }.msgsnd(rb as u32);
    0
}

pub(crate) unsafe extern "C" fn helper_msgclr(env: *mut CpuHeader, rb: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: called from PowerPC generated code.
    unsafe { cpu(env) }.msgclr(rb as u32);
    0
}
