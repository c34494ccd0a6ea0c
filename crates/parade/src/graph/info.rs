//! [`TaskInfo`]: what the graph remembers of a task besides what the engine knows — a weak
//! pointer to its value slot and, only for a task given a description, resource hints or a
//! mock, those in a box of their own. A plain task's record is three words and allocates
//! nothing. A weak pointer keeps its slot's memory (not the value) until it is dropped, so
//! [`release_unread`] drops those of slots nobody can read any more. It does not know how
//! tasks are submitted or shown.

use std::any::Any;
use std::sync::{Arc, Weak};

use super::hints::Resources;

/// What the graph remembers of a task besides what the engine knows.
pub(crate) struct TaskInfo {
    /// The value slot; its strong count says who can still read the value. A dangling weak
    /// pointer (no memory) once nobody could ([`release_unread`]).
    slot: Weak<dyn Any + Send + Sync>,
    /// Description, hints and mock, for the tasks that have one (most have none).
    about: Option<Box<About>>,
}

/// The rarer part of a task's record.
struct About {
    description: Option<Arc<str>>,
    resources: Resources,
    has_mock: bool,
}

impl TaskInfo {
    /// The record of a task whose value lives in `slot`.
    pub(crate) fn new(
        slot: Weak<dyn Any + Send + Sync>,
        description: Option<Arc<str>>,
        resources: &Resources,
        has_mock: bool,
    ) -> Self {
        let about = (description.is_some() || has_mock || !resources.is_empty()).then(|| {
            Box::new(About {
                description,
                resources: resources.clone(),
                has_mock,
            })
        });
        Self { slot, about }
    }

    /// The record of a task without description, hints or mock.
    pub(crate) fn plain(slot: Weak<dyn Any + Send + Sync>) -> Self {
        Self { slot, about: None }
    }

    /// Whether anyone but the task's own job can still read its value (a handle, or the
    /// reader of a dependent).
    pub(crate) fn observed(&self) -> bool {
        self.slot.strong_count() > 1
    }

    /// Its description, if it was given one.
    pub(crate) fn description(&self) -> Option<&Arc<str>> {
        self.about.as_ref()?.description.as_ref()
    }

    /// Its resource hints, if it has any.
    pub(crate) fn resources(&self) -> Option<&Resources> {
        self.about
            .as_ref()
            .map(|a| &a.resources)
            .filter(|r| !r.is_empty())
    }

    /// Whether its dry-run value is a mock.
    pub(crate) fn has_mock(&self) -> bool {
        self.about.as_ref().is_some_and(|a| a.has_mock)
    }
}

/// Lets go of the slot of every record in `infos` whose value nobody can read any more (its
/// handles, its dependents' readers and its job are gone), so that the slot's memory goes back
/// to the allocator. A record whose slot is still read keeps it; with `stop_at_read` the sweep
/// stops there, to look at it again later. Returns how many records it passed.
pub(crate) fn release_unread(infos: &mut [Option<TaskInfo>], stop_at_read: bool) -> usize {
    for (passed, info) in infos.iter_mut().enumerate() {
        let Some(info) = info else { continue };
        if info.slot.strong_count() == 0 {
            info.slot = Weak::<()>::new();
        } else if stop_at_read {
            return passed;
        }
    }
    infos.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_record_is_three_words_and_keeps_what_it_is_given() {
        assert_eq!(
            std::mem::size_of::<Option<TaskInfo>>(),
            3 * std::mem::size_of::<usize>()
        );
        let slot: Arc<dyn Any + Send + Sync> = Arc::new(1_u8);
        let plain = TaskInfo::new(Arc::downgrade(&slot), None, &Resources::default(), false);
        assert!(plain.about.is_none(), "nothing to remember: no box");
        assert!(plain.description().is_none() && plain.resources().is_none());
        assert!(!plain.has_mock());
        let hints = Resources {
            cores: Some(2),
            ..Resources::default()
        };
        let full = TaskInfo::new(Arc::downgrade(&slot), Some(Arc::from("x")), &hints, true);
        assert_eq!(full.description().map(|d| &**d), Some("x"));
        assert_eq!(full.resources(), Some(&hints));
        assert!(full.has_mock());
    }

    #[test]
    fn only_slots_nobody_reads_are_let_go() {
        let read: Arc<dyn Any + Send + Sync> = Arc::new(1_u8);
        let gone: Arc<dyn Any + Send + Sync> = Arc::new(2_u8);
        let mut infos = vec![
            Some(TaskInfo::plain(Arc::downgrade(&read))),
            None,
            Some(TaskInfo::plain(Arc::downgrade(&gone))),
        ];
        drop(gone);
        // Stopping at the first slot still read, nothing is passed.
        assert_eq!(release_unread(&mut infos, true), 0);
        assert_eq!(Arc::weak_count(&read), 1);
        assert_eq!(release_unread(&mut infos, false), 3);
        // A released slot is the dangling weak pointer, which points at no memory.
        let dangling = Weak::<()>::new().as_ptr();
        let held = |i: &TaskInfo| !std::ptr::addr_eq(i.slot.as_ptr(), dangling);
        let slots: Vec<_> = infos.iter().map(|i| i.as_ref().map(held)).collect();
        assert_eq!(slots, [Some(true), None, Some(false)]);
        assert_eq!(Arc::weak_count(&read), 1, "a slot still read is kept");
    }

    #[test]
    fn a_waited_graph_keeps_only_the_slots_still_read() {
        let g = super::super::Graph::inline();
        let kept = g.submit(|| 1);
        let dropped = g.submit_after(&kept, |x| x + 1);
        drop(g.submit_after(&dropped, |x| x + 1));
        drop(dropped);
        g.wait_all().unwrap();
        let dangling = Weak::<()>::new().as_ptr();
        let held: Vec<bool> = g
            .inner
            .tasks
            .lock()
            .iter()
            .flatten()
            .map(|i| !std::ptr::addr_eq(i.slot.as_ptr(), dangling))
            .collect();
        assert_eq!(held, [true, false, false]);
        assert_eq!(kept.value().unwrap(), 1);
    }

    #[test]
    fn a_sweep_while_adding_does_not_pass_tasks_that_have_not_run() {
        // Inline: nothing runs until the wait, so the sweeps made while adding find every slot
        // still read, and the wait's sweep must still let them all go.
        let g = super::super::Graph::inline();
        for i in 0..3 * super::super::SWEEP {
            drop(g.submit(move || i));
        }
        g.wait_all().unwrap();
        let dangling = Weak::<()>::new().as_ptr();
        let tasks = g.inner.tasks.lock();
        let held = tasks
            .iter()
            .flatten()
            .filter(|i| !std::ptr::addr_eq(i.slot.as_ptr(), dangling))
            .count();
        assert_eq!(held, 0);
    }
}
