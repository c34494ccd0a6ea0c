//! [`Pool`]: the parent side of pilot jobs. It submits the pilot jobs when the first task
//! comes, accepts their connections on one TCP port (each proving the run's secret), queues the
//! tasks it is given and hands each to a pilot with enough resources free, and reports how
//! each ended to its sink.
//!
//! Threads: one accepts connections; one per pilot reads its messages; one ticks (submits and
//! replaces pilot jobs, lists them with one `squeue` call per poll interval, stops tasks past
//! their timeout, notices silent pilots). Sinks are always called with no lock held: ending a
//! task may make the engine start others, which come back here.

use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::PilotConfig;
use super::agent::PILOT_ENV;
use super::fit::Fit;
use super::wire::{FromPilot, StreamName, ToPilot, receive, send};
use crate::engine::{Outcome, Reason, Stream};
use crate::exec::CommandSpec;
use crate::exec::process::{Listener, WORKER_SOCKET_ENV, Waker};
use crate::exec::slurm::client::JobId;
use crate::exec::slurm::names::{job_identity, job_name};
use crate::exec::slurm::shared::Shared;
use crate::exec::slurm::sink::end_with_output;
use crate::exec::slurm::submit::{Submission, sbatch};

/// A pilot that sends nothing (not even its heartbeat) for this long is lost.
const SILENCE: Duration = Duration::from_secs(15);

/// Polls in a row a pilot job may be missing from `squeue` before it counts as gone.
const MISSING_POLLS: u32 = 3;

/// The parent side of a run's pilot jobs.
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    cfg: PilotConfig,
    /// What a pilot job needs in its environment to reach this pool.
    env: Vec<(String, String)>,
    /// What one pilot has.
    total: Fit,
    waker: Waker,
    state: Mutex<State>,
    tick: Condvar,
}

#[derive(Default)]
struct State {
    closed: bool,
    /// A task came: pilots should run.
    wanted: bool,
    jobs: Vec<PilotJob>,
    pilots: HashMap<usize, Pilot>,
    queue: VecDeque<Task>,
    running: HashMap<u64, Running>,
    next_task: u64,
    next_conn: usize,
    /// Pilot jobs submitted so far.
    submitted: usize,
    /// A pilot job is being submitted (`sbatch` runs): the shutdown waits for it, to cancel it.
    submitting: bool,
    /// Why the last pilot job could not be submitted or ended before connecting.
    trouble: Option<String>,
    /// Pilots lost before their job was recorded (its `sbatch` call had not returned yet).
    lost_early: Vec<String>,
}

/// A pilot job submitted to Slurm.
struct PilotJob {
    id: JobId,
    cluster: Option<String>,
    connected: bool,
    gone: bool,
    misses: u32,
}

/// A connected pilot.
struct Pilot {
    job: String,
    host: String,
    writer: Box<dyn Write + Send>,
    free: Fit,
    last_seen: Instant,
}

struct Task {
    sub: Submission,
    need: Fit,
    queued: Instant,
}

struct Running {
    task: Task,
    conn: usize,
    /// When a pilot took it: its timeout counts from here.
    started: Instant,
    stopping: Option<Reason>,
}

/// A task's end, reported once no lock is held.
type Ended = (
    Submission,
    Outcome,
    Option<JobId>,
    Vec<(Stream, String)>,
    Duration,
    bool,
);

impl Task {
    /// How a task cancelled before any pilot took it ends: after the time it waited.
    fn cancelled_in_queue(self) -> Ended {
        let waited = self.queued.elapsed();
        (
            self.sub,
            Outcome::Failed(Reason::Cancelled),
            None,
            Vec::new(),
            waited,
            true,
        )
    }
}

impl Pool {
    /// Listens for the pilots of `shared`'s run on `ip` and starts the pool's threads; pilots
    /// are submitted when the first task comes.
    pub(crate) fn start(
        shared: Arc<Shared>,
        cfg: PilotConfig,
        ip: std::net::IpAddr,
    ) -> Result<Self, String> {
        let secret = shared.secret()?;
        let listener = Listener::tcp(ip, secret)?;
        let env = listener
            .worker_env()
            .into_iter()
            .map(|(k, v)| {
                if k == WORKER_SOCKET_ENV {
                    (PILOT_ENV.to_owned(), v)
                } else {
                    (k, v)
                }
            })
            .collect();
        let mut total =
            Fit::need(&cfg.resources).with_uses(cfg.uses.iter().map(|(k, n)| (k.as_str(), *n)));
        if cfg.resources.mem.is_none() {
            total.mem = None;
        }
        let inner = Arc::new(Inner {
            waker: listener.waker(),
            shared,
            cfg,
            env,
            total,
            state: Mutex::new(State::default()),
            tick: Condvar::new(),
        });
        let accepting = inner.clone();
        std::thread::Builder::new()
            .name("parade-pilots".into())
            .spawn(move || accepting.accept(&listener))
            .map_err(|e| format!("cannot start the pilot listener: {e}"))?;
        let ticking = inner.clone();
        std::thread::Builder::new()
            .name("parade-pilot-tick".into())
            .spawn(move || ticking.run_ticks())
            .map_err(|e| format!("cannot start the pilot thread: {e}"))?;
        Ok(Self { inner })
    }

    /// Queues `subs` for the pilots.
    pub(crate) fn submit(&self, subs: Vec<Submission>) {
        let mut refused = Vec::new();
        {
            let mut st = self.inner.lock();
            if st.closed {
                refused.extend(subs.into_iter().map(|s| {
                    let why = format!(
                        "{} was not run: the Slurm executor is shutting down",
                        s.label
                    );
                    (s, Outcome::failed(why))
                }));
            } else {
                for sub in subs {
                    let need = Fit::need(&sub.spec.resources)
                        .with_uses(sub.uses.iter().map(|(k, n)| (k.as_str(), *n)));
                    if self.inner.total.holds(&need) {
                        st.queue.push_back(Task {
                            sub,
                            need,
                            queued: Instant::now(),
                        });
                    } else {
                        let why = format!(
                            "{} asks for {}, more than a pilot has ({}): give the pilots more \
                             (their resources) or the task less",
                            sub.label,
                            need.describe(),
                            self.inner.total.describe()
                        );
                        refused.push((sub, Outcome::failed(why)));
                    }
                }
                if !st.wanted {
                    st.wanted = true;
                    self.inner.tick.notify_all();
                }
                Inner::dispatch(&mut st);
            }
        }
        for (sub, outcome) in refused {
            report((sub, outcome, None, Vec::new(), Duration::ZERO, false));
        }
    }

    /// Cancels the queued and running tasks `which` picks: queued ones end at once, running
    /// ones are killed on their pilot and end when it says they did.
    pub(crate) fn cancel(&self, which: impl Fn(&Submission) -> bool) {
        let mut ended = Vec::new();
        {
            let mut st = self.inner.lock();
            let (gone, kept): (Vec<Task>, Vec<Task>) =
                st.queue.drain(..).partition(|t| which(&t.sub));
            st.queue = kept.into();
            ended.extend(gone.into_iter().map(Task::cancelled_in_queue));
            let mut kills = Vec::new();
            for (id, r) in &mut st.running {
                if r.stopping.is_none() && which(&r.task.sub) {
                    r.stopping = Some(Reason::Cancelled);
                    kills.push((*id, r.conn));
                }
            }
            for (id, conn) in kills {
                Inner::tell(&mut st, conn, &ToPilot::Kill { id });
            }
        }
        for e in ended {
            report(e);
        }
    }

    /// How many pilots are connected now.
    pub(crate) fn connected(&self) -> usize {
        self.inner.lock().pilots.len()
    }

    /// Ends the pool: queued and running tasks end as cancelled, connected pilots are told to
    /// stop, and every pilot job Slurm may still hold is cancelled (one `scancel` call).
    pub(crate) fn shutdown(&self) {
        let (ended, jobs) = {
            let mut st = self.inner.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            self.inner.tick.notify_all();
            // A pilot job being submitted is waited for, so that it is cancelled too.
            let cfg = &self.inner.shared.cfg;
            let patience = cfg.command_timeout * (cfg.retries + 2);
            let until = Instant::now() + patience;
            while st.submitting && Instant::now() < until {
                st = self
                    .inner
                    .tick
                    .wait_timeout(st, Duration::from_millis(50))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            let mut ended: Vec<Ended> = st.queue.drain(..).map(Task::cancelled_in_queue).collect();
            let running: Vec<Running> = st.running.drain().map(|(_, r)| r).collect();
            for r in running {
                let job = st.pilots.get(&r.conn).and_then(|p| p.job.parse().ok());
                let waited = r.task.queued.elapsed();
                ended.push((
                    r.task.sub,
                    Outcome::Failed(Reason::Cancelled),
                    job,
                    Vec::new(),
                    waited,
                    true,
                ));
            }
            for p in st.pilots.values_mut() {
                let _ = send(&mut p.writer, &ToPilot::Stop);
            }
            st.pilots.clear();
            let mut jobs: HashMap<Option<String>, Vec<JobId>> = HashMap::new();
            for j in st.jobs.iter_mut().filter(|j| !j.gone) {
                j.gone = true;
                jobs.entry(j.cluster.clone()).or_default().push(j.id);
            }
            self.inner.tick.notify_all();
            (ended, jobs)
        };
        for (cluster, ids) in jobs {
            let _ = self.inner.shared.client.scancel(&ids, cluster.as_deref());
        }
        self.inner.waker.wake();
        for e in ended {
            report(e);
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `message` to the pilot on connection `conn`; a pilot that cannot be written to
    /// is left to its reader, which sees the connection end.
    fn tell(st: &mut State, conn: usize, message: &ToPilot) -> bool {
        st.pilots
            .get_mut(&conn)
            .is_some_and(|p| send(&mut p.writer, message).is_ok())
    }

    /// Hands queued tasks, in order, to pilots with enough free; stops at the first task no
    /// pilot has room for now (tasks keep their order), or when no pilot has a CPU free.
    fn dispatch(st: &mut State) {
        while let Some(task) = st.queue.front() {
            let best = st
                .pilots
                .iter()
                .filter(|(_, p)| p.free.holds(&task.need))
                .max_by_key(|(c, p)| (p.free.cpus, std::cmp::Reverse(**c)))
                .map(|(c, _)| *c);
            let Some(conn) = best else {
                return;
            };
            let task = st.queue.pop_front().expect("a front task");
            for f in &task.sub.stale {
                let _ = std::fs::remove_file(f);
            }
            st.next_task += 1;
            let id = st.next_task;
            let run = ToPilot::Run {
                id,
                spec: Box::new(task.sub.spec.clone()),
            };
            if let Some(p) = st.pilots.get_mut(&conn) {
                p.free.take(&task.need);
            }
            st.running.insert(
                id,
                Running {
                    task,
                    conn,
                    started: Instant::now(),
                    stopping: None,
                },
            );
            // A pilot that cannot be written to is lost by its reader; its tasks with it.
            Self::tell(st, conn, &run);
        }
    }

    fn accept(self: Arc<Self>, listener: &Listener) {
        loop {
            let conn = listener.accept();
            if self.lock().closed {
                return;
            }
            let Ok(conn) = conn else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            let Ok(writer) = conn.try_clone() else {
                continue;
            };
            let inner = self.clone();
            let spawned = std::thread::Builder::new()
                .name("parade-pilot".into())
                .spawn(move || inner.serve(BufReader::new(conn), Box::new(writer)));
            if let Err(e) = spawned {
                eprintln!("parade: cannot serve a pilot: {e}");
            }
        }
    }

    /// Reads one pilot's messages until its connection ends.
    fn serve(&self, mut reader: impl std::io::BufRead, mut writer: Box<dyn Write + Send>) {
        let Ok(Some(FromPilot::Hello { job, host })) = receive::<FromPilot>(&mut reader) else {
            return;
        };
        let conn = {
            let mut st = self.lock();
            if st.closed {
                let _ = send(&mut writer, &ToPilot::Stop);
                return;
            }
            st.next_conn += 1;
            let conn = st.next_conn;
            if let Some(j) = st.jobs.iter_mut().find(|j| j.id.to_string() == job) {
                j.connected = true;
            }
            st.pilots.insert(
                conn,
                Pilot {
                    job,
                    host,
                    writer,
                    free: self.total.clone(),
                    last_seen: Instant::now(),
                },
            );
            Self::dispatch(&mut st);
            conn
        };
        let why = loop {
            match receive::<FromPilot>(&mut reader) {
                Ok(Some(FromPilot::Exit {
                    id,
                    code,
                    signal,
                    output,
                    error,
                })) => self.exited(conn, id, (code, signal, error), output),
                Ok(Some(FromPilot::Beat | FromPilot::Hello { .. })) => {
                    if let Some(p) = self.lock().pilots.get_mut(&conn) {
                        p.last_seen = Instant::now();
                    }
                }
                Ok(None) => break "its connection closed".to_owned(),
                Err(e) => break format!("its connection failed ({e})"),
            }
        };
        self.lose(conn, &why);
    }

    /// Task `id` ended on the pilot of `conn`.
    fn exited(
        &self,
        conn: usize,
        id: u64,
        (code, signal, error): (Option<i32>, Option<i32>, Option<String>),
        output: Vec<(StreamName, String)>,
    ) {
        let ended = {
            let mut st = self.lock();
            let Some(r) = st.running.remove(&id) else {
                return;
            };
            let job = st.pilots.get_mut(&conn).map(|p| {
                p.free.give(&r.task.need);
                p.last_seen = Instant::now();
                p.job.clone()
            });
            Self::dispatch(&mut st);
            let outcome = match (code, r.stopping.clone(), error) {
                (Some(0), _, None) => Outcome::Succeeded,
                (_, Some(why), _) => Outcome::Failed(why),
                (_, None, Some(e)) => Outcome::failed(format!(
                    "{} could not start on pilot {}: {e}",
                    r.task.sub.label,
                    job.as_deref().unwrap_or("?")
                )),
                (Some(c), None, None) => Outcome::Failed(Reason::Exit(c)),
                (None, None, None) => Outcome::Failed(Reason::Signal(signal.unwrap_or(0))),
            };
            let output = output.into_iter().map(|(s, l)| (s.into(), l)).collect();
            let stopped = r.stopping.is_some();
            let waited = r.task.queued.elapsed();
            let job = job.and_then(|j| j.parse().ok());
            (r.task.sub, outcome, job, output, waited, stopped)
        };
        report(ended);
    }

    /// The pilot of `conn` is gone: its running tasks end as lost (or as parade stopped them).
    fn lose(&self, conn: usize, why: &str) {
        let ended = {
            let mut st = self.lock();
            let Some(pilot) = st.pilots.remove(&conn) else {
                return;
            };
            match st.jobs.iter_mut().find(|j| j.id.to_string() == pilot.job) {
                Some(j) => j.gone = true,
                None => st.lost_early.push(pilot.job.clone()),
            }
            let ids: Vec<u64> = st
                .running
                .iter()
                .filter(|(_, r)| r.conn == conn)
                .map(|(id, _)| *id)
                .collect();
            let mut ended = Vec::new();
            for id in ids {
                let r = st.running.remove(&id).expect("listed");
                let outcome = match r.stopping.clone() {
                    Some(stopped) => Outcome::Failed(stopped),
                    None => Outcome::Failed(Reason::Lost(format!(
                        "lost with pilot {} on {}: {why}",
                        pilot.job, pilot.host
                    ))),
                };
                let stopped = r.stopping.is_some();
                let waited = r.task.queued.elapsed();
                ended.push((
                    r.task.sub,
                    outcome,
                    pilot.job.parse().ok(),
                    Vec::new(),
                    waited,
                    stopped,
                ));
            }
            self.tick.notify_all();
            ended
        };
        for e in ended {
            report(e);
        }
    }

    /// The ticking thread: keeps `count` pilots submitted while tasks want them, polls their
    /// jobs, times tasks out, and notices silent pilots, until the pool closes.
    fn run_ticks(&self) {
        let every = self.shared.cfg.poll_interval.max(Duration::from_millis(50));
        let mut next_poll = Instant::now();
        loop {
            {
                let st = self.lock();
                if st.closed {
                    return;
                }
                let wait = next_poll.saturating_duration_since(Instant::now());
                let (st, _) = self
                    .tick
                    .wait_timeout(st, wait.min(every))
                    .unwrap_or_else(PoisonError::into_inner);
                if st.closed {
                    return;
                }
                if !st.wanted {
                    continue;
                }
            }
            self.replace_pilots();
            self.time_out_and_silence();
            if Instant::now() >= next_poll {
                self.poll_jobs();
                next_poll = Instant::now() + every;
            }
            self.fail_if_no_pilot_can_come();
        }
    }

    /// Submits pilot jobs until `count` are live (within the replacements allowed).
    fn replace_pilots(&self) {
        loop {
            let n = {
                let mut st = self.lock();
                let live = st.jobs.iter().filter(|j| !j.gone).count();
                let allowed = self.cfg.count + self.cfg.replacements;
                if st.closed || live >= self.cfg.count || st.submitted >= allowed {
                    return;
                }
                st.submitting = true;
                st.submitted + 1
            };
            let submitted = self.submit_pilot(n);
            let mut st = self.lock();
            st.submitted = n;
            st.submitting = false;
            // The shutdown may be waiting for this job, to cancel it.
            self.tick.notify_all();
            match submitted {
                Ok((id, cluster)) => {
                    let lost = st.lost_early.iter().any(|j| *j == id.to_string());
                    st.jobs.push(PilotJob {
                        id,
                        cluster,
                        connected: lost,
                        gone: lost,
                        misses: 0,
                    });
                }
                Err(why) => st.trouble = Some(why),
            }
        }
    }

    /// Submits pilot job number `n`.
    fn submit_pilot(&self, n: usize) -> Result<(JobId, Option<String>), String> {
        let cfg = &self.shared.cfg;
        let (program, args) = match self.cfg.program.as_ref().or(cfg.worker_program.as_ref()) {
            Some((p, a)) => (p.clone(), a.clone()),
            None => (
                std::env::current_exe()
                    .map_err(|e| format!("cannot find this program's path: {e}"))?,
                std::env::args().skip(1).collect(),
            ),
        };
        let key = format!("pilot:{n}");
        let spec = CommandSpec {
            program: program.to_string_lossy().into_owned(),
            args,
            env: self.env.clone(),
            cwd: Some(std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))),
            resources: self.cfg.resources.clone(),
            ..CommandSpec::default()
        };
        let name = job_name(&cfg.run_id, &key);
        let identity = job_identity(&key, &spec);
        let label = format!("pilot {n}");
        sbatch(&self.shared, (&name, &identity, &label), &spec, &[]).map(|s| (s.id, s.cluster))
    }

    /// Stops tasks past their timeout; loses pilots silent for too long.
    fn time_out_and_silence(&self) {
        let silent: Vec<usize> = {
            let mut st = self.lock();
            let mut kills = Vec::new();
            for (id, r) in &mut st.running {
                if let Some(limit) = r.task.sub.timeout
                    && r.stopping.is_none()
                    && r.started.elapsed() > limit
                {
                    r.stopping = Some(Reason::Timeout(limit));
                    kills.push((*id, r.conn));
                }
            }
            for (id, conn) in kills {
                Self::tell(&mut st, conn, &ToPilot::Kill { id });
            }
            st.pilots
                .iter()
                .filter(|(_, p)| p.last_seen.elapsed() > SILENCE)
                .map(|(c, _)| *c)
                .collect()
        };
        for conn in silent {
            self.lose(
                conn,
                &format!("it sent nothing for {} s", SILENCE.as_secs()),
            );
        }
    }

    /// One `squeue` call: pilot jobs that ended (or vanished) are gone; one that ended before
    /// it connected says so in `trouble`. A gone pilot that still has a connection is lost.
    fn poll_jobs(&self) {
        let clusters: Vec<Option<String>> = {
            let st = self.lock();
            let mut c: Vec<Option<String>> = st
                .jobs
                .iter()
                .filter(|j| !j.gone)
                .map(|j| j.cluster.clone())
                .collect();
            c.sort();
            c.dedup();
            c
        };
        let mut lost = Vec::new();
        for cluster in clusters {
            let Ok(listing) = self.shared.client.list(cluster.as_deref()) else {
                continue;
            };
            let mut st = self.lock();
            let work = self.shared.work_dir.display().to_string();
            let mut trouble = None;
            for j in st
                .jobs
                .iter_mut()
                .filter(|j| !j.gone && j.cluster == cluster)
            {
                let ended = match listing.get(&j.id) {
                    Some(s) if s.is_live() => {
                        j.misses = 0;
                        None
                    }
                    Some(s) => Some(format!("{} ({})", s.state, s.reason)),
                    None => {
                        j.misses += 1;
                        (j.misses >= MISSING_POLLS).then(|| "vanished from squeue".to_owned())
                    }
                };
                if let Some(how) = ended {
                    j.gone = true;
                    if j.connected {
                        lost.push((j.id, how));
                    } else {
                        trouble = Some(format!(
                            "pilot job {} ended {how} before connecting (see its .err file in {work})",
                            j.id
                        ));
                    }
                }
            }
            if trouble.is_some() {
                st.trouble = trouble;
            }
        }
        for (job, how) in lost {
            let conn = {
                let st = self.lock();
                st.pilots
                    .iter()
                    .find(|(_, p)| p.job == job.to_string())
                    .map(|(c, _)| *c)
            };
            if let Some(conn) = conn {
                self.lose(conn, &format!("Slurm reports its job {how}"));
            }
        }
    }

    /// With no pilot connected, none queued or running in Slurm and no replacement allowed,
    /// the queued tasks can never run: they fail, saying why.
    fn fail_if_no_pilot_can_come(&self) {
        let ended: Vec<Ended> = {
            let mut st = self.lock();
            let live = st.jobs.iter().any(|j| !j.gone);
            let allowed = self.cfg.count + self.cfg.replacements;
            if !st.pilots.is_empty() || live || st.submitted < allowed || st.queue.is_empty() {
                return;
            }
            let why = format!(
                "no pilot job is left to run it ({} submitted{})",
                st.submitted,
                st.trouble
                    .as_ref()
                    .map_or_else(String::new, |t| format!("; {t}"))
            );
            st.queue
                .drain(..)
                .map(|t| {
                    let waited = t.queued.elapsed();
                    (
                        t.sub,
                        Outcome::failed(why.clone()),
                        None,
                        Vec::new(),
                        waited,
                        false,
                    )
                })
                .collect()
        };
        for e in ended {
            report(e);
        }
    }
}

/// Reports a task's end to its sink (no lock held).
fn report((sub, outcome, job, output, duration, stopped): Ended) {
    end_with_output(
        sub.sink,
        outcome,
        job,
        (None, output),
        duration,
        (stopped, false),
    );
}
