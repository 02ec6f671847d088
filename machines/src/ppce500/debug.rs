//! What a debugger needs from the board besides running it: memory through a CPU's MMU or
//! physical, watchpoints on every CPU, and the monitor's `info` texts.

use super::Ppce500;
use ferrite_ppc::cpu::{msr, PpcCpu};
use ferrite_softmmu::{RegionKind, Watchpoint, PAGE_MASK, PAGE_SIZE};

impl Ppce500 {
    /// Number of CPUs.
    pub fn cpu_count(&self) -> usize {
        self.cpus.len()
    }

    /// The guest physical address of `addr` as CPU `cpu` sees it for data (MSR[DS]), or for
    /// instructions (MSR[IS]) when data has no mapping there; no permission check, no side
    /// effect.
    pub fn debug_translate(&self, cpu: usize, addr: u64) -> Option<u64> {
        let c: &PpcCpu = &self.cpus[cpu];
        let m = c.regs.msr;
        let ea = addr as u32;
        c.mmu.debug_translate(ea, m & msr::DS != 0).or_else(|| c.mmu.debug_translate(ea, m & msr::IS != 0))
    }

    /// Reads guest memory at `addr` (virtual through CPU `cpu`'s MMU, or `physical`) into
    /// `out`; returns how many bytes could be read (RAM only: devices are not read, reads have
    /// side effects there).
    pub fn debug_read(&self, cpu: usize, addr: u64, out: &mut [u8], physical: bool) -> usize {
        let mut done = 0;
        while done < out.len() {
            let a = addr.wrapping_add(done as u64);
            let n = ((PAGE_SIZE - (a & !PAGE_MASK)) as usize).min(out.len() - done);
            let phys = if physical { Some(a) } else { self.debug_translate(cpu, a) };
            match phys {
                Some(p) if self.space.read_ram(p, &mut out[done..done + n]).is_ok() => done += n,
                _ => break,
            }
        }
        done
    }

    /// Writes `data` to guest memory at `addr` (as [`debug_read`](Self::debug_read)); returns
    /// whether every byte was written. Translations of written code are dropped.
    pub fn debug_write(&self, cpu: usize, addr: u64, data: &[u8], physical: bool) -> bool {
        let mut done = 0;
        while done < data.len() {
            let a = addr.wrapping_add(done as u64);
            let n = ((PAGE_SIZE - (a & !PAGE_MASK)) as usize).min(data.len() - done);
            let phys = if physical { Some(a) } else { self.debug_translate(cpu, a) };
            let Some(p) = phys else { return false };
            if self.space.write_ram(p, &data[done..done + n]).is_err() {
                return false;
            }
            if self.space.is_code_page(p & PAGE_MASK) {
                self.space.note_code_store(p, n as u64);
            }
            done += n;
        }
        true
    }

    /// Adds (`insert`) or removes a watchpoint on every CPU; returns false when removing one
    /// that does not exist.
    pub fn set_watchpoint(&mut self, w: Watchpoint, insert: bool) -> bool {
        let mut found = insert;
        for c in &mut self.cpus {
            if insert {
                c.hdr.watch.insert(w);
            } else {
                found |= c.hdr.watch.remove(w);
            }
            // Entries of the watched pages must be filled again with the watch flag (or without).
            c.hdr.flush_tlb();
        }
        found
    }

    /// Whether any CPU has a watchpoint.
    pub fn has_watchpoints(&self) -> bool {
        self.cpus.iter().any(|c| !c.hdr.watch.is_empty())
    }

    /// Removes every breakpoint and watchpoint (the debugger went away).
    pub fn clear_debug_state(&mut self) {
        self.engine.clear_breakpoints();
        for c in &mut self.cpus {
            c.hdr.watch.clear();
            c.hdr.flush_tlb();
        }
    }

    /// Adds a breakpoint at guest virtual `addr`.
    pub fn insert_breakpoint(&mut self, addr: u64) -> bool {
        self.engine.insert_breakpoint(addr)
    }

    /// Removes the breakpoint at `addr`.
    pub fn remove_breakpoint(&mut self, addr: u64) -> bool {
        self.engine.remove_breakpoint(addr)
    }

    /// Resets the machine now (gdb's `monitor system_reset`: the CPU stays stopped).
    pub fn debug_reset(&mut self) -> Result<(), super::BoardError> {
        self.reset()
    }

    /// Asks for a reset at the next turn (the console monitor's `system_reset`).
    pub fn request_reset(&mut self) {
        self.host_reset = true;
        self.power.reset.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// QEMU-style `info registers` of CPU `cpu`.
    pub fn info_registers(&mut self, cpu: usize) -> String {
        let c = &mut self.cpus[cpu];
        let r = &c.regs;
        let mut s = format!(
            "NIP {:08x}   LR {:08x} CTR {:08x} XER {:08x} CPU#{cpu}\nMSR {:08x} HALTED {}\n",
            c.pc(),
            r.lr,
            r.ctr,
            r.xer(),
            r.msr,
            c.halted as u8
        );
        for (i, g) in r.gpr.iter().enumerate() {
            s += &format!("{}GPR{i:02} {g:08x}", if i % 8 == 0 { "" } else { " " });
            if i % 8 == 7 {
                s.push('\n');
            }
        }
        s += &format!("CR {:08x}  FPSCR {:08x}\n", r.cr(), r.fpscr);
        for (i, f) in r.fpr.iter().enumerate() {
            s += &format!("{}FPR{i:02} {f:016x}", if i % 4 == 0 { "" } else { " " });
            if i % 4 == 3 {
                s.push('\n');
            }
        }
        s += &format!(
            "SRR0 {:08x} SRR1 {:08x} CSRR0 {:08x} CSRR1 {:08x}\nDEAR {:08x} ESR {:08x} PID {:08x} IVPR {:08x}\n",
            r.srr[0],
            r.srr[1],
            r.srr[2],
            r.srr[3],
            r.dear,
            r.esr,
            c.mmu.pid[0],
            c.spr.ivpr
        );
        let sprg = r.sprg;
        let (dec, tcr, tsr) = (c.read_spr(22), c.read_spr(340), c.read_spr(336));
        s += &format!(
            "SPRG0 {:08x} SPRG1 {:08x} SPRG2 {:08x} SPRG3 {:08x}\nDEC {dec:08x} TCR {tcr:08x} TSR {tsr:08x}\n",
            sprg[0], sprg[1], sprg[2], sprg[3]
        );
        s
    }

    /// QEMU-style `info tlb` of CPU `cpu`.
    pub fn info_tlb(&self, cpu: usize) -> String {
        self.cpus[cpu].mmu.info_tlb()
    }

    /// `info mtree`: the physical address map.
    pub fn info_mtree(&self) -> String {
        let mut regions = self.space.regions();
        regions.sort_by_key(|r| r.base);
        let mut s = String::from("address-space: memory\n");
        for r in regions {
            let kind = match r.kind {
                RegionKind::Ram { .. } => "ram",
                _ => "i/o",
            };
            s += &format!("  {:09x}-{:09x} ({kind}): {}\n", r.base, r.base + r.size - 1, r.name);
        }
        s
    }
}
