//! [`TaskCell`]: a plain graph task's value slot and its job in one allocation. The engine
//! holds the cell as the task's job (a [`SharedJob`]), handles and readers hold it as the
//! value's [`Source`]: one allocation and no boxed closure per task, and the closure is
//! freed by the thread that ran it, not handed to another thread's allocator. Named tasks,
//! dry runs and tasks that fail before they start keep a plain [`Slot`](super::handle::Slot).
//! It does not know how a task is submitted.

use std::fmt::Display;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::handle::{Source, Unavailable};
use super::wire::run_here;
use crate::engine::{Outcome, SharedJob, TaskContext, TaskId};

/// What the job still has to do: its readers, how it reads them, and its closure, taken by the
/// one run. `read` is a function item (the inputs' own `read`), so it takes no room in the
/// cell and is called directly.
struct Work<Rd, Fr, G> {
    readers: Rd,
    read: Fr,
    f: G,
}

/// A task's value, and until it runs, the work that makes it.
pub(crate) struct TaskCell<R, Rd, Fr, G> {
    value: OnceLock<R>,
    work: Mutex<Option<Work<Rd, Fr, G>>>,
}

impl<R, Rd, Fr, G> TaskCell<R, Rd, Fr, G> {
    /// A cell whose job reads `readers` with `read` and gives the values to `f`.
    pub(crate) fn new(readers: Rd, read: Fr, f: G) -> Self {
        Self {
            value: OnceLock::new(),
            work: Mutex::new(Some(Work { readers, read, f })),
        }
    }
}

impl<R, Rd, Fr, G> Source<R> for TaskCell<R, Rd, Fr, G>
where
    R: Send + Sync,
    Rd: Send + Sync,
    Fr: Send,
    G: Send,
{
    fn get(&self) -> Result<&R, Unavailable> {
        self.value.get().ok_or(Unavailable::NotReady)
    }
}

impl<R, Rd, Fr, V, E, G> SharedJob for TaskCell<R, Rd, Fr, G>
where
    R: Send + Sync + 'static,
    Rd: Send + Sync + 'static,
    Fr: Fn(&Rd) -> Result<V, (TaskId, Unavailable)> + Send + 'static,
    V: 'static,
    E: Display,
    G: FnOnce(V) -> Result<R, E> + Send + 'static,
{
    fn run_shared(self: Arc<Self>, _: &TaskContext) -> Outcome {
        let Some(Work { readers, read, f }) = self.work.lock().take() else {
            return Outcome::failed("its job ran twice");
        };
        let values = read(&readers);
        drop(readers);
        run_here(values, &self.value, f)
    }

    fn abandon(&self) {
        drop(self.work.lock().take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, TaskSpec, TaskState};

    #[test]
    fn the_job_fills_the_value_once_and_lets_its_readers_go() {
        let input = Arc::new(5_u32);
        let read = |r: &Arc<u32>| Ok(**r);
        let cell = Arc::new(TaskCell::new(input.clone(), read, |v: u32| {
            Ok::<u32, String>(v * 2)
        }));
        assert_eq!(Arc::strong_count(&input), 2, "the work holds its reader");
        assert_eq!(cell.get(), Err(Unavailable::NotReady));
        let engine = Engine::inline();
        let id = engine.add(TaskSpec::from_shared(cell.clone())).unwrap();
        engine.want([id]).unwrap();
        assert_eq!(engine.wait([id]).unwrap()[0].state, TaskState::Succeeded);
        assert_eq!(cell.get(), Ok(&10));
        assert_eq!(Arc::strong_count(&input), 1, "the run dropped its reader");
        // The engine let go of its job: only this test holds the cell now.
        assert_eq!(Arc::strong_count(&cell), 1);
        // A second run (never made by the engine) fails instead of running the closure again.
        let again = engine.add(TaskSpec::from_shared(cell.clone())).unwrap();
        engine.want([again]).unwrap();
        assert_eq!(engine.wait([again]).unwrap()[0].state, TaskState::Failed);
        assert_eq!(cell.get(), Ok(&10));
    }

    #[test]
    fn the_read_function_takes_no_room_in_the_cell() {
        // A function item (as the inputs' own `read` is), not a function pointer.
        let read = |r: &Arc<u32>| Ok::<u32, (TaskId, Unavailable)>(**r);
        let cell: TaskCell<u32, _, _, _> =
            TaskCell::new(Arc::new(1_u32), read, |v: u32| Ok::<u32, String>(v));
        // The readers and the closure only: no pointer to the read function beside them.
        assert_eq!(
            std::mem::size_of_val(&cell),
            std::mem::size_of::<OnceLock<u32>>() + std::mem::size_of::<Mutex<Option<Arc<u32>>>>()
        );
    }

    #[test]
    fn a_job_dropped_unrun_lets_its_readers_go() {
        let input = Arc::new(5_u32);
        let read = |r: &Arc<u32>| Ok(**r);
        let cell = Arc::new(TaskCell::new(input.clone(), read, |v: u32| {
            Ok::<u32, String>(v)
        }));
        let engine = Engine::inline();
        let id = engine.add(TaskSpec::from_shared(cell.clone())).unwrap();
        engine.cancel(id).unwrap();
        assert_eq!(engine.state(id).unwrap(), TaskState::Cancelled);
        assert_eq!(
            Arc::strong_count(&input),
            1,
            "the cancel dropped its reader"
        );
        assert_eq!(cell.get(), Err(Unavailable::NotReady));
    }

    #[test]
    fn a_missing_input_fails_the_task_and_leaves_no_value() {
        let read = |(): &()| Err::<u32, _>((TaskId::from_index(3), Unavailable::NotReady));
        let cell = Arc::new(TaskCell::new((), read, |v: u32| Ok::<u32, String>(v)));
        let engine = Engine::inline();
        let id = engine.add(TaskSpec::from_shared(cell.clone())).unwrap();
        engine.want([id]).unwrap();
        let status = engine.wait([id]).unwrap().remove(0);
        assert_eq!(status.state, TaskState::Failed);
        assert!(status.reason.unwrap().to_string().contains("input task #3"));
        assert_eq!(cell.get(), Err(Unavailable::NotReady));
    }
}
