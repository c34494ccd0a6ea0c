//! The host-reporting flow procs of the Slurm suites that run procs on the cluster's nodes
//! (`slurm_workers`, `slurm_cluster_pilots`): `host::[n]` answers `n` and the hostname of where
//! it ran, `hosts` starts `host::1..3`, waits for them and answers its own hostname and theirs.
//! Those test binaries are their own workers, so the parent and every worker define the procs
//! here, the same way. Included with `#[path]` by the suites that use it (the other users of
//! `common` start no flow).

use parade::flow::Flow;

/// The procs `host::[n]` and `hosts` (see the module doc).
pub fn define(flow: &Flow) {
    flow.proto("host::[n]", |ctx| {
        let n: u64 = ctx.arg("n")?;
        Ok((n, hostname()))
    })
    .add()
    .unwrap();
    flow.proc("hosts", |ctx| {
        let names = ["host::1", "host::2", "host::3"];
        for n in names {
            ctx.run(n)?;
        }
        ctx.wait(names)?;
        let got: Vec<(u64, String)> = names.iter().map(|n| ctx.result(n).unwrap()).collect();
        Ok((hostname(), got))
    })
    .add()
    .unwrap();
}

/// The name of the host (a node's UTS namespace on the test cluster) this process runs on.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("the kernel names the host")
        .trim()
        .to_owned()
}
